package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-playground/validator/v10"
	"go.yaml.in/yaml/v3"

	"github.com/bytebot/bytebot/commands"
)

// MaxFileSize is the largest policy file Load reads.
const MaxFileSize = 1 << 20

// An Error is one problem in a policy file, at a line (0 if none applies).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors lists every problem found in a file, by line.
type Errors []Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// str is a YAML scalar and the line it is on.
type str struct {
	V    string
	Line int
}

// UnmarshalYAML implements yaml.Unmarshaler. A problem is a *yaml.TypeError,
// so that the decoder goes on and reports every problem.
func (s *str) UnmarshalYAML(n *yaml.Node) error {
	s.Line = n.Line
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected a single value, not a %s", n.Line, kindName(n.Kind))}}
	}
	s.V = n.Value
	return nil
}

// num is a YAML integer and its line.
type num struct {
	V    int
	Line int
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (x *num) UnmarshalYAML(n *yaml.Node) error {
	x.Line = n.Line
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected a whole number, not %q", n.Line, short(n.Value))}}
	}
	x.V = v
	return nil
}

// roleMap is the roles mapping, with the line of each name.
type roleMap struct {
	names   []str
	members [][]str
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (m *roleMap) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: roles must map role names to lists of Slack IDs", n.Line)}}
	}
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var ids []str
		if v.Kind != yaml.SequenceNode {
			errs = append(errs, fmt.Sprintf("line %d: role %q must be a list of Slack IDs, e.g. [U0ALICE, S0OPS]", v.Line, short(k.Value)))
		} else if err := v.Decode(&ids); err != nil {
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				return err
			}
			errs = append(errs, te.Errors...)
		}
		m.names = append(m.names, str{V: k.Value, Line: k.Line})
		m.members = append(m.members, ids)
	}
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}

// file is the document, as written.
type file struct {
	Roles     roleMap    `yaml:"roles"`
	Rules     []fileRule `yaml:"rules"`
	Protected []str      `yaml:"protected"`
}

type fileRule struct {
	Actions    []str `yaml:"actions"`
	Servers    []str `yaml:"servers"`
	Requesters []str `yaml:"requesters"`
	Approvers  []str `yaml:"approvers"`
	Approvals  *num  `yaml:"approvals"`
	Channels   []str `yaml:"channels"`
	TTL        *str  `yaml:"ttl"`
}

var (
	validate = sync.OnceValue(func() *validator.Validate {
		v := validator.New(validator.WithRequiredStructEnabled())
		for tag, re := range map[string]*regexp.Regexp{
			"role":    regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`),
			"member":  regexp.MustCompile(`^[UWS][A-Z0-9]{2,20}$`),
			"channel": regexp.MustCompile(`^[CGD][A-Z0-9]{2,20}$`),
		} {
			if err := v.RegisterValidation(tag, func(fl validator.FieldLevel) bool { return re.MatchString(fl.Field().String()) }); err != nil {
				panic(err) // a bad tag is a programming error
			}
		}
		if err := v.RegisterValidation("glob", func(fl validator.FieldLevel) bool { return CheckGlob(fl.Field().String()) == nil }); err != nil {
			panic(err)
		}
		return v
	})
	lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	keyRE  = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// MaxApprovals is the most approvals a rule may ask for.
const MaxApprovals = 10

// Load parses and checks a policy file; name is used in messages
// ("policy.yaml:12: …"). Every problem is reported at once, as Errors.
func Load(name string, data []byte) (*Policy, error) {
	l := &loader{file: name}
	if len(data) > MaxFileSize {
		l.add(0, "the file is larger than %d bytes", MaxFileSize)
		return nil, l.errs
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&f)
	switch {
	case errors.Is(err, io.EOF):
		l.add(0, "the file is empty; a policy needs rules")
		return nil, l.errs
	case err != nil:
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			l.yamlErr(err.Error())
			return nil, l.errs
		}
		for _, e := range te.Errors {
			l.yamlErr(e)
		}
	}
	if err == nil {
		var extra yaml.Node
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			l.add(extra.Line, "the file holds more than one YAML document; put the whole policy in one")
		}
	}
	ruleLines := ruleLines(data)
	p := &Policy{Source: name, Roles: map[string][]string{}, ProtectedBy: "protected"}
	sum := sha256.Sum256(data)
	p.Hash = hex.EncodeToString(sum[:])
	l.roles(p, f.Roles)
	if f.Rules == nil {
		l.add(0, "no rules: every action that changes a server would be refused")
	}
	for i, fr := range f.Rules {
		line := 0
		if i < len(ruleLines) {
			line = ruleLines[i]
		}
		p.Rules = append(p.Rules, l.rule(p, i, line, fr))
	}
	for _, g := range f.Protected {
		if err := validate().Var(g.V, "glob"); err != nil {
			l.add(g.Line, "protected: %s", globProblem(g.V))
			continue
		}
		p.Protected = append(p.Protected, strings.ToLower(g.V))
	}
	if len(f.Protected) > 0 {
		p.ProtectedBy = fmt.Sprintf("protected (%s:%d)", name, f.Protected[0].Line)
	}
	if len(l.errs) > 0 {
		sort.SliceStable(l.errs, func(i, j int) bool { return l.errs[i].Line < l.errs[j].Line })
		return nil, l.errs
	}
	return p, nil
}

type loader struct {
	file string
	errs Errors
}

func (l *loader) add(line int, format string, args ...any) {
	l.errs = append(l.errs, Error{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// yamlErr adds an error from the YAML decoder, moving its line number to the front.
func (l *loader) yamlErr(msg string) {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		l.add(0, "%s", strings.TrimPrefix(msg, "yaml: "))
		return
	}
	line, _ := strconv.Atoi(m[1])
	text := m[2]
	if k := keyRE.FindStringSubmatch(text); k != nil {
		text = fmt.Sprintf("unknown key %q", k[1])
		if s := commands.Suggest(k[1], []string{"roles", "rules", "protected", "actions", "servers", "requesters", "approvers", "approvals", "channels", "ttl"}); s != "" {
			text += fmt.Sprintf(" (did you mean %q?)", s)
		}
	}
	l.add(line, "%s", text)
}

func (l *loader) roles(p *Policy, m roleMap) {
	for i, n := range m.names {
		switch {
		case n.V == MonitoringRole:
			l.add(n.Line, "role %q is built in (requests by monitoring); don't define it", n.V)
			continue
		case validate().Var(n.V, "role") != nil:
			l.add(n.Line, "role name %q: use lowercase letters, digits, - and _, starting with a letter", short(n.V))
			continue
		}
		if len(m.members[i]) == 0 {
			l.add(n.Line, "role %q has no members", n.V)
		}
		var ids []string
		for _, id := range m.members[i] {
			if validate().Var(id.V, "member") != nil {
				l.add(id.Line, "role %q: %q is not a Slack user ID (U…) or user-group ID (S…)", n.V, short(id.V))
				continue
			}
			ids = append(ids, id.V)
		}
		p.Roles[n.V] = ids
	}
}

func (l *loader) rule(p *Policy, i, line int, fr fileRule) Rule {
	label := fmt.Sprintf("rule %d (line %d)", i+1, line)
	r := Rule{
		Label: label,
		Where: Where{
			Actions:    "the actions of " + label,
			Servers:    "the servers of " + label,
			Requesters: "a role in the requesters of " + label,
			Approvers:  "approvers in " + label,
			Channels:   "the channels of " + label,
		},
	}
	empty := func(key string, list []str) {
		if list != nil && len(list) == 0 {
			l.add(line, "%s: %s is an empty list; leave it out to mean all", label, key)
		}
	}
	if len(fr.Actions) == 0 {
		l.add(line, "%s has no actions", label)
	}
	known := commands.ActionNames()
	var irreversible []string
	for _, a := range fr.Actions {
		name := strings.ToLower(strings.Join(strings.Fields(a.V), " "))
		if !slices.Contains(known, name) {
			msg := fmt.Sprintf("unknown action %q", short(a.V))
			if s := commands.Suggest(name, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			l.add(a.Line, "%s", msg)
			continue
		}
		if commands.Irreversible(name) {
			irreversible = append(irreversible, name)
		}
		r.Actions = append(r.Actions, name)
	}
	empty("servers", fr.Servers)
	for _, g := range fr.Servers {
		if validate().Var(g.V, "glob") != nil {
			l.add(g.Line, "%s", globProblem(g.V))
			continue
		}
		r.Servers = append(r.Servers, strings.ToLower(g.V))
	}
	if fr.Servers != nil && r.Servers == nil {
		r.Servers = []string{} // matches nothing, but the file is refused anyway
	}
	empty("requesters", fr.Requesters)
	r.Requesters = l.roleRefs(p, fr.Requesters, true)
	empty("approvers", fr.Approvers)
	r.Approvers = l.roleRefs(p, fr.Approvers, false)
	empty("channels", fr.Channels)
	for _, c := range fr.Channels {
		if validate().Var(c.V, "channel") != nil {
			l.add(c.Line, "%q is not a Slack channel ID (C…, G… or D…)", short(c.V))
			continue
		}
		r.Channels = append(r.Channels, c.V)
	}
	if fr.Approvals != nil {
		r.Approvals = fr.Approvals.V
		if validate().Var(r.Approvals, fmt.Sprintf("min=0,max=%d", MaxApprovals)) != nil {
			l.add(fr.Approvals.Line, "approvals: %d is not between 0 and %d", r.Approvals, MaxApprovals)
		}
	} else if fr.Approvers != nil {
		r.Approvals = 1 // approvers without a count: one of them
	}
	aline := line
	if fr.Approvals != nil {
		aline = fr.Approvals.Line
	}
	if r.Approvals == 0 && len(irreversible) > 0 {
		l.add(aline, "%s: approvals is 0, but %s can't be undone: purges and reimages always need at least 1 approval",
			label, strings.Join(irreversible, " and "))
	}
	if r.Approvals > 0 && fr.Approvers == nil {
		l.add(aline, "%s asks for approvals but names no approvers; add approvers: [ROLE]", label)
	}
	if fr.TTL != nil {
		d, err := time.ParseDuration(fr.TTL.V)
		switch {
		case err != nil:
			l.add(fr.TTL.Line, "ttl: %q is not a duration such as 30m or 2h", short(fr.TTL.V))
		case validate().Var(d, "gt=0s") != nil:
			l.add(fr.TTL.Line, "ttl: %s must be positive", d)
		case validate().Var(d, "lte=168h") != nil:
			l.add(fr.TTL.Line, "ttl: %s is longer than a week", d)
		default:
			r.TTL = d
		}
	}
	return r
}

// roleRefs checks role names that a rule refers to.
func (l *loader) roleRefs(p *Policy, refs []str, requesters bool) []string {
	var names []string
	for _, ref := range refs {
		switch _, ok := p.Roles[ref.V]; {
		case ok:
		case ref.V == MonitoringRole && requesters:
		case ref.V == MonitoringRole:
			l.add(ref.Line, "monitoring can ask, but it can't approve")
			continue
		case validate().Var(ref.V, "member") == nil:
			l.add(ref.Line, "%q is a Slack ID; rules name roles: put it in a role under roles and name that role here", ref.V)
			continue
		default:
			msg := fmt.Sprintf("unknown role %q", short(ref.V))
			defined := make([]string, 0, len(p.Roles))
			for n := range p.Roles {
				defined = append(defined, n)
			}
			slices.Sort(defined)
			if s := commands.Suggest(ref.V, defined); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else if len(defined) > 0 {
				msg += "; roles are " + strings.Join(defined, ", ")
			} else {
				msg += "; define it under roles"
			}
			l.add(ref.Line, "%s", msg)
			continue
		}
		names = append(names, ref.V)
	}
	if refs != nil && names == nil {
		names = []string{} // nobody, but the file is refused anyway
	}
	return names
}

func globProblem(g string) string {
	if err := CheckGlob(g); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("bad server glob %q", short(g))
}

// ruleLines returns the line of each item of the top-level rules list.
func ruleLines(data []byte) []int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	return seqLines(doc.Content[0], "rules")
}

// seqLines returns the lines of the items of the sequence under key in the
// mapping m ("" for m itself being the sequence).
func seqLines(m *yaml.Node, key string) []int {
	seq := m
	if key != "" {
		seq = nil
		if m.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(m.Content); i += 2 {
				if m.Content[i].Value == key {
					seq = m.Content[i+1]
				}
			}
		}
	}
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil
	}
	lines := make([]int, len(seq.Content))
	for i, n := range seq.Content {
		lines[i] = n.Line
	}
	return lines
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}

// short cuts s for a message.
func short(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:39]) + "…"
	}
	return s
}
