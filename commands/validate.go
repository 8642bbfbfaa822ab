package commands

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"

	"github.com/bytebot/bytebot/bytemark"
)

// validate returns the one validator, built on first use with the custom
// validators registered. It is never changed after that.
var validate = sync.OnceValue(func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	for tag, problem := range map[string]func(string) string{
		"server":    canonicalServerProblem,
		"group":     canonicalGroupProblem,
		"disclabel": newLabelProblem,
		"discref":   labelProblem,
		"ticket":    ticketProblem,
		// The server commands (provision.go).
		"newserver":    newServerProblem,
		"servername":   serverNameProblem,
		"distribution": distributionProblem,
	} {
		fn := func(fl validator.FieldLevel) bool { return problem(fl.Field().String()) == "" }
		if err := v.RegisterValidation(tag, fn, true); err != nil {
			panic(err) // a bad tag name is a programming error
		}
	}
	return v
})

// Validate checks a hand-built action (Parse already validates what it
// returns). Errors are *UsageError.
func Validate(a Action) error {
	err := check(a)
	if err == nil {
		return nil
	}
	var p problem
	if !errors.As(err, &p) {
		return &UsageError{Msg: "That command isn't valid.", err: err}
	}
	if a != nil {
		if c := lookup(a.Name()); c != nil {
			return c.usageError(string(p))
		}
	}
	return &UsageError{Msg: string(p)}
}

// check validates a, returning a problem for people or another error if a
// isn't an action at all.
func check(a Action) error {
	if a == nil {
		return errors.New("commands: no action")
	}
	if h, ok := a.(Help); ok && !knownTopic(h.Topic) {
		msg := fmt.Sprintf("I have no help for %s.", quote(h.Topic))
		if s := closest(h.Topic, topics()); s != "" {
			msg += fmt.Sprintf(" Did you mean `help %s`?", s)
		}
		return problem(msg + " Try `/bytemark help` for the list.")
	}
	err := validate().Struct(a)
	var fes validator.ValidationErrors
	if !errors.As(err, &fes) {
		if err != nil {
			return fmt.Errorf("commands: validating %T: %w", a, err)
		}
		if c, ok := a.(checker); ok {
			if p := c.problem(); p != "" {
				return problem(p)
			}
		}
		return nil
	}
	fe := fes[0]
	s := fmt.Sprint(fe.Value())
	switch fe.StructField() {
	case "Target":
		if fe.Tag() == "newserver" {
			return problem(newServerProblem(s))
		}
		return problem(canonicalServerProblem(s))
	case "NewName":
		return problem(serverNameProblem(s))
	case "Distribution":
		return problem(distributionProblem(s))
	case "Cores":
		n, _ := fe.Value().(int)
		if n < 1 {
			return problemf("A server needs at least 1 core, not %d.", n)
		}
		return problemf("%d cores is more than a server can have (the most is %d).", n, MaxCores)
	case "MemoryMiB":
		n, _ := fe.Value().(int)
		return problem(memoryProblem(n, ""))
	case "Group":
		return problem(canonicalGroupProblem(s))
	case "Label":
		if fe.Tag() == "disclabel" {
			return problem(newLabelProblem(s))
		}
		return problem(labelProblem(s))
	case "SizeMiB":
		n, _ := fe.Value().(int)
		return problem(discSizeProblem(n, ""))
	case "Grade":
		return problemf("%s isn't a storage grade; use `sata`, `archive` or `ssd`.", quote(s))
	case "Method":
		return problemf("%s isn't a reboot method; use `graceful`, `reset` or `cycle`.", quote(s))
	case "Ticket":
		return problem(ticketProblem(s))
	}
	return fmt.Errorf("commands: %T.%s fails %q", a, fe.StructField(), fe.Tag())
}

// topics returns every help topic: the command names and "disc".
func topics() []string {
	ts := []string{"disc"}
	for _, c := range table {
		ts = append(ts, c.name)
	}
	return ts
}

func knownTopic(t string) bool {
	return t == "" || t == "disc" || lookup(t) != nil
}

const serverNames = "Server names look like `web1` or `web1.group.account`."

// serverArg normalises a server name as typed: lower case (DNS names are
// case-insensitive). Nothing is trimmed: a full hostname such as
// web1.default.acme.uk0.bigv.io stays whole, and the Bytemark client
// accepts what follows the account only if it is the suffix of the
// hostname the API reports for that server.
func serverArg(s string) string {
	return strings.ToLower(s)
}

// serverProblem says what is wrong with a server name, or "" if nothing is.
// Unlike bytemark.ParseName it also checks the parts after the account, so
// that junk can't ride along on a hostname.
func serverProblem(s string) string {
	if s == "" {
		return "A server name is missing. " + serverNames
	}
	if len(s) > 253 {
		return fmt.Sprintf("%s is too long for a server name. %s", quote(s), serverNames)
	}
	for _, p := range strings.Split(s, ".") {
		if why := dnsLabelProblem(p); why != "" {
			return fmt.Sprintf("%s isn't a server name: %s. %s", quote(s), why, serverNames)
		}
	}
	if _, err := bytemark.ParseName(s); err != nil {
		return fmt.Sprintf("%s isn't a server name. %s", quote(s), serverNames)
	}
	return ""
}

// canonicalServerProblem is serverProblem, also refusing a name not in the
// canonical form Parse gives (so that every valid action round-trips).
func canonicalServerProblem(s string) string {
	if p := serverProblem(s); p != "" {
		return p
	}
	if c := serverArg(s); c != s {
		return fmt.Sprintf("Write the server name %s as %s.", quote(s), quote(c))
	}
	return ""
}

// canonicalGroupProblem is groupProblem, also refusing upper case.
func canonicalGroupProblem(s string) string {
	if p := groupProblem(s); p != "" {
		return p
	}
	if c := strings.ToLower(s); c != s {
		return fmt.Sprintf("Write the group %s as %s.", quote(s), quote(c))
	}
	return ""
}

// groupProblem says what is wrong with a group ("g" or "g.account").
func groupProblem(s string) string {
	const groups = "Groups look like `default` or `default.acme`."
	parts := strings.Split(s, ".")
	if len(parts) > 2 {
		return fmt.Sprintf("%s isn't a group: it has too many parts. %s", quote(s), groups)
	}
	for _, p := range parts {
		if why := dnsLabelProblem(p); why != "" {
			return fmt.Sprintf("%s isn't a group: %s. %s", quote(s), why, groups)
		}
	}
	return ""
}

// dnsLabelProblem says what is wrong with one part of a name.
func dnsLabelProblem(p string) string {
	switch {
	case p == "":
		return "it has an empty part (a dot at the start or end, or two together)"
	case len(p) > 63:
		return "a part is longer than 63 characters"
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Sprintf("it has the character %s; use letters, digits and hyphens", quote(string(r)))
		}
	}
	if p[0] == '-' || p[len(p)-1] == '-' {
		return "a part starts or ends with a hyphen"
	}
	return ""
}

// labelProblem says what is wrong with the label of an existing disc.
func labelProblem(s string) string {
	const labels = "Disc labels are letters, digits, `-` and `_`, e.g. `data`."
	switch {
	case s == "":
		return "A disc label is missing. " + labels
	case len(s) > 63:
		return fmt.Sprintf("%s is too long for a disc label (the most is 63 characters).", quote(s))
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Sprintf("%s isn't a disc label: it has the character %s. %s", quote(s), quote(string(r)), labels)
		}
	}
	if s[0] == '-' || s[0] == '_' {
		return fmt.Sprintf("%s isn't a disc label: start it with a letter or digit. %s", quote(s), labels)
	}
	return ""
}

// newLabelProblem says what is wrong with the label of a new disc.
func newLabelProblem(s string) string {
	if p := labelProblem(s); p != "" {
		return p
	}
	if bytemark.IsDeviceName(s) {
		return fmt.Sprintf("%s can't be a disc label: it looks like a Unix device name, which Bytemark refuses. Choose a name such as `data` or `backups`.", quote(s))
	}
	return ""
}

// ticketProblem says what is wrong with a ticket ID.
func ticketProblem(s string) string {
	ok := s != "" && len(s) <= 64
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			ok = false
		}
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("%s isn't a ticket ID; copy the ID from the approval request (`/bytemark approvals` lists them).", quote(s))
}
