package commands

import (
	"fmt"
	"strings"
)

// Disc size limits, in MiB. The API documents a maximum of 2 TiB per disc
// and no minimum; the official client's unit is the GiB, so 1 GiB is the
// smallest disc this bot asks for.
const (
	MinDiscSizeMiB = 1024
	MaxDiscSizeMiB = 2 * 1024 * 1024
)

const (
	mib = 1
	gib = 1024 * mib
	tib = 1024 * gib
)

// units maps a size suffix (lower case) to MiB. Like the official client,
// GB means GiB: nobody wants a 23.28 GiB disc.
var units = map[string]int{
	"":  gib, // a bare number is GiB, as the official client takes it
	"m": mib, "mb": mib, "mib": mib,
	"g": gib, "gb": gib, "gib": gib,
	"t": tib, "tb": tib, "tib": tib,
}

// ParseSize parses a disc size such as "25G", "25GiB", "512M", "1T" or
// "1.5G" and returns it in MiB. A bare number is GiB. It does not check the
// disc limits (MinDiscSizeMiB, MaxDiscSizeMiB); validation does. Errors are
// *UsageError with a message for people.
func ParseSize(s string) (int, error) {
	n, err := parseSize(s)
	if err != nil {
		return 0, &UsageError{Msg: err.Error()}
	}
	return n, nil
}

// parseSize is ParseSize with a problem (a sentence for people) as its error.
func parseSize(s string) (int, error) {
	bad := func() error {
		return problemf("%s isn't a size I understand. Write sizes like %s (a bare number is GiB).", quote(s), SizeExamples)
	}
	l := strings.ToLower(s)
	i := 0
	for i < len(l) && l[i] >= '0' && l[i] <= '9' {
		i++
	}
	whole := l[:i]
	frac := ""
	if i < len(l) && l[i] == '.' {
		j := i + 1
		for j < len(l) && l[j] >= '0' && l[j] <= '9' {
			j++
		}
		frac, i = l[i+1:j], j
		if frac == "" {
			return 0, bad()
		}
	}
	unit, ok := units[l[i:]]
	if whole == "" || !ok {
		return 0, bad()
	}
	// Bound the digits so the arithmetic below cannot overflow; anything
	// this long is far beyond any disc anyway.
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 9 || len(frac) > 6 {
		return 0, problemf("%s is far bigger than the largest disc, %s.", quote(s), HumanSize(MaxDiscSizeMiB))
	}
	n := 0
	for _, c := range whole {
		n = n*10 + int(c-'0')
	}
	n *= unit
	if frac != "" {
		f, scale := 0, 1
		for _, c := range frac {
			f = f*10 + int(c-'0')
			scale *= 10
		}
		if f*unit%scale != 0 {
			return 0, problemf("%s isn't a whole number of MiB; give the size in M, e.g. `%dM`.", quote(s), n+(f*unit+scale-1)/scale)
		}
		n += f * unit / scale
	}
	return n, nil
}

// SizeExamples are the sizes help shows: each one is accepted by every size
// argument (a disc's size and a server's memory).
const SizeExamples = "`25G`, `2048M` or `1T`"

// parseDiscSize parses the size of a disc, as typed, and checks it against
// the disc limits, quoting what was typed when it is outside them.
func parseDiscSize(s string) (int, error) {
	n, err := parseSize(s)
	if err != nil {
		return 0, err
	}
	if p := discSizeProblem(n, s); p != "" {
		return 0, problem(p)
	}
	return n, nil
}

// discSizeProblem says what is wrong with a disc of n MiB, typed as typed
// ("" when it wasn't typed: then the size is shown canonically).
func discSizeProblem(n int, typed string) string {
	if typed == "" {
		typed = FormatSize(n)
	}
	switch {
	case n < MinDiscSizeMiB:
		return fmt.Sprintf("%s is smaller than the smallest disc, %s.", quote(typed), HumanSize(MinDiscSizeMiB))
	case n > MaxDiscSizeMiB:
		return fmt.Sprintf("%s is bigger than the largest disc, %s.", quote(typed), HumanSize(MaxDiscSizeMiB))
	}
	return ""
}

// FormatSize formats a size in MiB canonically, in the largest whole unit:
// "2T", "25G", "1536M". ParseSize(FormatSize(n)) == n.
func FormatSize(mib int) string {
	switch {
	case mib != 0 && mib%tib == 0:
		return fmt.Sprintf("%dT", mib/tib)
	case mib != 0 && mib%gib == 0:
		return fmt.Sprintf("%dG", mib/gib)
	}
	return fmt.Sprintf("%dM", mib)
}

// HumanSize formats a size in MiB for people: "25 GiB", "1.5 GiB", "512 MiB".
// Every reply that shows a size uses it.
func HumanSize(m int) string {
	switch {
	case m >= tib && m%(tib/4) == 0:
		return trimFloat(float64(m)/tib) + " TiB"
	case m >= gib && m%(gib/4) == 0:
		return trimFloat(float64(m)/gib) + " GiB"
	}
	return fmt.Sprintf("%d MiB", m)
}

func trimFloat(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}
