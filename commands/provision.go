package commands

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bytebot/bytebot/bytemark"
)

// Limits of the server commands (resize, create). The API judges the
// values within them (its 400 says what it refuses); these only keep
// nonsense from reaching it.
const (
	MaxCores     = 64
	MinMemoryMiB = 512
	MaxMemoryMiB = 1024 * 1024 // 1 TiB
	// DefaultImage is what create installs when no image is named: the
	// official client's default.
	DefaultImage = "symbiosis"
)

// Resize changes a server's cores and memory (at least one; 0 leaves it
// as it is). With Restart a running server is shut down cleanly, resized
// and started again, in one run.
type Resize struct {
	Target    string `validate:"server"`
	Cores     int    `validate:"min=0,max=64"`
	MemoryMiB int    `validate:"min=0,max=1048576"`
	Restart   bool
}

// Rename gives a server a new name in its group.
type Rename struct {
	Target  string `validate:"server"`
	NewName string `validate:"servername"`
}

// Move moves a server to another group ("g" or "g.account"). A running
// server is shut down cleanly, moved and started again, in one run.
type Move struct {
	Target string `validate:"server"`
	Group  string `validate:"group"`
}

// A NewDisc is a disc of a server to create: SizeMiB in MiB, Grade a
// storage grade.
type NewDisc struct {
	SizeMiB int
	Grade   string
}

// Create creates a server. Target is its name, "name", "name.group" or
// "name.group.account". Discs holds up to 8 discs, in order, the unused
// ones zero (an array, so that actions stay comparable). Distribution is
// the image installed on the first disc, "" for none (no-image). The root
// password is made when it runs, never here: actions are stored as text.
type Create struct {
	Target       string `validate:"newserver"`
	Cores        int    `validate:"min=1,max=64"`
	MemoryMiB    int    `validate:"min=512,max=1048576"`
	Discs        [maxDiscs]NewDisc
	Distribution string `validate:"omitempty,distribution"`
	Stopped      bool
}

// Reimage installs a fresh operating system on a server's first disc,
// destroying what was there.
type Reimage struct {
	Target       string `validate:"server"`
	Distribution string `validate:"distribution"`
}

// Rescue restarts a server into the rescue appliance, once.
type Rescue struct {
	Target string `validate:"server"`
}

// Images lists the operating systems servers can be created or reimaged
// with.
type Images struct{}

// Name implements Action.
func (Resize) Name() string { return "resize" }

// Name implements Action.
func (Rename) Name() string { return "rename" }

// Name implements Action.
func (Move) Name() string { return "move" }

// Name implements Action.
func (Create) Name() string { return "create" }

// Name implements Action.
func (Reimage) Name() string { return "reimage" }

// Name implements Action.
func (Rescue) Name() string { return "rescue" }

// Name implements Action.
func (Images) Name() string { return "images" }

// String implements Action.
func (a Resize) String() string {
	args := []string{a.Target}
	if a.Cores != 0 {
		args = append(args, "cores", strconv.Itoa(a.Cores))
	}
	if a.MemoryMiB != 0 {
		args = append(args, "memory", FormatSize(a.MemoryMiB))
	}
	if a.Restart {
		args = append(args, "restart")
	}
	return join("resize", args...)
}

// String implements Action.
func (a Rename) String() string { return join("rename", a.Target, a.NewName) }

// String implements Action.
func (a Move) String() string { return join("move", a.Target, a.Group) }

// String implements Action.
func (a Create) String() string {
	args := []string{a.Target, "cores", strconv.Itoa(a.Cores), "memory", FormatSize(a.MemoryMiB)}
	for _, d := range a.Discs {
		if d != (NewDisc{}) {
			args = append(args, "disc", FormatSize(d.SizeMiB)+":"+d.Grade)
		}
	}
	if a.Distribution == "" {
		args = append(args, "no-image")
	} else {
		args = append(args, "image", a.Distribution)
	}
	if a.Stopped {
		args = append(args, "stopped")
	}
	return join("create", args...)
}

// String implements Action.
func (a Reimage) String() string { return join("reimage", a.Target, a.Distribution) }

// String implements Action.
func (a Rescue) String() string { return join("rescue", a.Target) }

// String implements Action.
func (Images) String() string { return "images" }

// Server implements Action.
func (a Resize) Server() string { return a.Target }

// Server implements Action.
func (a Rename) Server() string { return a.Target }

// Server implements Action.
func (a Move) Server() string { return a.Target }

// Server implements Action: the server to be created.
func (a Create) Server() string { return a.Target }

// Server implements Action.
func (a Reimage) Server() string { return a.Target }

// Server implements Action.
func (a Rescue) Server() string { return a.Target }

// Server implements Action.
func (Images) Server() string { return "" }

// Destructive implements Action.
func (Resize) Destructive() bool { return false }

// Destructive implements Action.
func (Rename) Destructive() bool { return false }

// Destructive implements Action.
func (Move) Destructive() bool { return false }

// Destructive implements Action.
func (Create) Destructive() bool { return false }

// Destructive implements Action: the first disc's data is gone for good.
func (Reimage) Destructive() bool { return true }

// Destructive implements Action.
func (Rescue) Destructive() bool { return false }

// Destructive implements Action.
func (Images) Destructive() bool { return false }

// problem implements checker: what the tags can't say.
func (a Resize) problem() string {
	if a.Cores == 0 && a.MemoryMiB == 0 {
		return "`resize` needs `cores &lt;n&gt;`, `memory &lt;size&gt;` or both, e.g. `/bytemark resize web1 cores 4 memory 8G`."
	}
	if a.MemoryMiB != 0 {
		return memoryProblem(a.MemoryMiB, "")
	}
	return ""
}

// problem implements checker.
func (a Create) problem() string {
	if p := memoryProblem(a.MemoryMiB, ""); p != "" {
		return p
	}
	n := 0
	for i, d := range a.Discs {
		if d == (NewDisc{}) {
			continue
		}
		if i != n {
			return "The discs of a new server must be listed one after another, with no gaps."
		}
		n++
		switch {
		case d.SizeMiB < MinDiscSizeMiB:
			return discSizeProblem(d.SizeMiB, "")
		case d.SizeMiB > MaxDiscSizeMiB:
			return discSizeProblem(d.SizeMiB, "")
		case d.Grade != "sata" && d.Grade != "archive" && d.Grade != "ssd":
			return fmt.Sprintf("%s isn't a storage grade; use `sata`, `archive` or `ssd`.", quote(d.Grade))
		}
	}
	if n == 0 {
		return "A new server needs at least one disc, e.g. `disc 25G`."
	}
	return ""
}

// A checker is an action with checks beyond its validate tags.
type checker interface{ problem() string }

// memoryProblem says what is wrong with an amount of memory in MiB, typed
// as typed ("" when it wasn't typed: then it is shown canonically).
func memoryProblem(m int, typed string) string {
	if typed == "" {
		typed = FormatSize(m)
	}
	switch {
	case m < MinMemoryMiB:
		return fmt.Sprintf("%s is less memory than a server can have; the least is %s.", quote(typed), HumanSize(MinMemoryMiB))
	case m > MaxMemoryMiB:
		return fmt.Sprintf("%s is more memory than a server can have (the most is %s).", quote(typed), HumanSize(MaxMemoryMiB))
	case m != MinMemoryMiB && m%1024 != 0:
		return fmt.Sprintf("%s isn't an amount of memory Bytemark offers: use 512M or whole GiB (1G, 2G, 4G, …).", quote(typed))
	}
	return ""
}

// newServerProblem says what is wrong with the name of a server to
// create: name, name.group or name.group.account, nothing after that.
func newServerProblem(s string) string {
	const names = "New servers are named `name`, `name.group` or `name.group.account`."
	if s == "" {
		return "The new server's name is missing. " + names
	}
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return fmt.Sprintf("%s has too many parts for a new server. %s", quote(s), names)
	}
	if p := serverNameProblem(parts[0]); p != "" {
		return p
	}
	if len(parts) > 1 {
		if p := groupProblem(strings.Join(parts[1:], ".")); p != "" {
			return p
		}
	}
	if c := strings.ToLower(s); c != s {
		return fmt.Sprintf("Write the server name %s as %s.", quote(s), quote(c))
	}
	return ""
}

// serverNameProblem says what is wrong with a server's own name (the
// first part of name.group.account) for a new or renamed server.
func serverNameProblem(s string) string {
	if s == "" {
		return "The new name is missing."
	}
	if why := dnsLabelProblem(s); why != "" {
		return fmt.Sprintf("%s can't be a server's name: %s.", quote(s), why)
	}
	if len(s) < 3 {
		return fmt.Sprintf("%s is too short for a server's name: Bytemark wants at least 3 characters.", quote(s))
	}
	if strings.Trim(s, "0123456789") == "" {
		return fmt.Sprintf("%s can't be a server's name: a name of digits alone reads as a server's ID.", quote(s))
	}
	if c := strings.ToLower(s); c != s {
		return fmt.Sprintf("Write the name %s as %s.", quote(s), quote(c))
	}
	return ""
}

// distributionProblem says what is wrong with the name of an image. The
// API's list (`images`) is checked when the action runs.
func distributionProblem(s string) string {
	ok := s != "" && len(s) <= 64
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			ok = false
		}
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("%s isn't the name of an image; `/bytemark images` lists them.", quote(s))
}

// optionWords parses the keyword options that follow a command's first
// argument ("cores 4 memory 8G restart"): each keyword once, valued ones
// followed by their value. set is called with the keyword (lower case)
// and its value ("" for flags). Repeatable keywords may come more than
// once.
func optionWords(cmd string, words []string, valued, flags, repeatable []string, set func(key, value string) error) error {
	seen := map[string]bool{}
	all := append(append([]string{}, valued...), flags...)
	for i := 0; i < len(words); i++ {
		w := strings.ToLower(words[i])
		isValued, isFlag := contains(valued, w), contains(flags, w)
		if !isValued && !isFlag {
			msg := fmt.Sprintf("`%s` doesn't take %s; it takes %s.", cmd, quote(words[i]), list(codes(all), "and"))
			if s := closest(w, all); s != "" {
				msg += fmt.Sprintf(" Did you mean `%s`?", s)
			}
			return problem(msg)
		}
		if seen[w] && !contains(repeatable, w) {
			return problemf("%s is given twice; give it once.", quote(w))
		}
		seen[w] = true
		v := ""
		if isValued {
			if i+1 >= len(words) {
				return problemf("`%s` needs a value after it, e.g. `%s`.", w, optionExample[w])
			}
			i++
			v = words[i]
		}
		if err := set(w, v); err != nil {
			return err
		}
	}
	return nil
}

var optionExample = map[string]string{"cores": "cores 2", "memory": "memory 4G", "disc": "disc 50G:ssd", "image": "image bookworm"}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func codes(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = "`" + w + "`"
	}
	return out
}

// parseCores parses a number of cores.
func parseCores(s string) (int, error) {
	if len(s) > 4 || strings.Trim(s, "0123456789") != "" || s == "" {
		return 0, problemf("%s isn't a number of cores; write a whole number such as `2`.", quote(s))
	}
	n, _ := strconv.Atoi(s)
	switch {
	case n < 1:
		return 0, problemf("A server needs at least 1 core, not %s.", quote(s))
	case n > MaxCores:
		return 0, problemf("%s cores is more than a server can have (the most is %d).", quote(s), MaxCores)
	}
	return n, nil
}

// parseMemory parses an amount of memory (a size; a bare number is GiB).
func parseMemory(s string) (int, error) {
	n, err := parseSize(s)
	if err != nil {
		return 0, err
	}
	if p := memoryProblem(n, s); p != "" {
		return 0, problem(p)
	}
	return n, nil
}

func buildResize(a []string) (Action, error) {
	r := Resize{Target: serverArg(a[0])}
	err := optionWords("resize", a[1:], []string{"cores", "memory"}, []string{"restart"}, nil, func(k, v string) (err error) {
		switch k {
		case "cores":
			r.Cores, err = parseCores(v)
		case "memory":
			r.MemoryMiB, err = parseMemory(v)
		case "restart":
			r.Restart = true
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func buildCreate(a []string) (Action, error) {
	c := Create{Target: strings.ToLower(a[0]), Cores: bytemark.DefaultCores, MemoryMiB: bytemark.DefaultMemoryMiB, Distribution: DefaultImage}
	n, image, noImage := 0, false, false
	err := optionWords("create", a[1:], []string{"cores", "memory", "disc", "image"}, []string{"no-image", "stopped"}, []string{"disc"}, func(k, v string) (err error) {
		switch k {
		case "cores":
			c.Cores, err = parseCores(v)
		case "memory":
			c.MemoryMiB, err = parseMemory(v)
		case "disc":
			if n == maxDiscs {
				return problemf("A server can have at most %d discs.", maxDiscs)
			}
			size, grade, _ := strings.Cut(v, ":")
			grade = strings.ToLower(grade)
			if grade == "" {
				grade = DefaultGrade
			}
			d := NewDisc{Grade: grade}
			if d.SizeMiB, err = parseDiscSize(size); err != nil {
				return err
			}
			c.Discs[n] = d
			n++
		case "image":
			image = true
			c.Distribution = strings.ToLower(v)
		case "no-image":
			noImage = true
			c.Distribution = ""
		case "stopped":
			c.Stopped = true
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if image && noImage {
		return nil, problem("Give `image &lt;distribution&gt;` or `no-image`, not both.")
	}
	if n == 0 {
		c.Discs[0] = NewDisc{SizeMiB: bytemark.DefaultDiscSizeMiB, Grade: bytemark.DefaultStorageGrade}
	}
	return c, nil
}
