package bytemark

import (
	"fmt"
	"net/url"
	"strings"
)

// A Name is a server name: server, group and account, and whatever was
// written after the account (Suffix, e.g. "uk0.bigv.io" of a full
// hostname). A Suffix is kept, never dropped: the client accepts it only
// when it is exactly the suffix of the hostname the API reports for that
// server (see Client.Identify).
type Name struct {
	Server  string
	Group   string
	Account string
	Suffix  string
}

// String returns the name as "server.group.account[.suffix]", leaving out
// trailing empty parts.
func (n Name) String() string {
	s := n.Server
	if n.Group != "" || n.Account != "" || n.Suffix != "" {
		s += "." + n.Group
	}
	if n.Account != "" || n.Suffix != "" {
		s += "." + n.Account
	}
	if n.Suffix != "" {
		s += "." + n.Suffix
	}
	return s
}

// Short returns the name without its suffix: "server.group.account".
func (n Name) Short() Name {
	n.Suffix = ""
	return n
}

// maxPartLen bounds each part of a name; real Bytemark names are far shorter.
const maxPartLen = 63

// ParseName parses a server name written as "server", "server.group",
// "server.group.account" or a full hostname such as
// "server.group.account.uk0.bigv.io". What comes after the account is kept
// in Suffix (unlike the official client, which ignores it): only the API
// can say whether it is this server's hostname. Missing parts are left
// empty; the client fills them from its defaults. Each part, the suffix's
// too, must be a DNS label: letters, digits and hyphens, not starting or
// ending with a hyphen.
func ParseName(s string) (Name, error) {
	if s == "" {
		return Name{}, fmt.Errorf("bytemark: empty server name")
	}
	if len(s) > 253 {
		return Name{}, fmt.Errorf("bytemark: server name is too long (%d characters)", len(s))
	}
	parts := strings.Split(strings.ToLower(s), ".")
	for _, p := range parts {
		if err := checkLabel(p); err != nil {
			return Name{}, fmt.Errorf("bytemark: invalid server name %q: %w", s, err)
		}
	}
	n := Name{Server: parts[0]}
	if len(parts) > 1 {
		n.Group = parts[1]
	}
	if len(parts) > 2 {
		n.Account = parts[2]
	}
	if len(parts) > 3 {
		n.Suffix = strings.Join(parts[3:], ".")
	}
	return n, nil
}

func checkLabel(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty part")
	case len(p) > maxPartLen:
		return fmt.Errorf("part %q is longer than %d characters", p[:16]+"…", maxPartLen)
	case p[0] == '-' || p[len(p)-1] == '-':
		return fmt.Errorf("part %q starts or ends with a hyphen", p)
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("part %q has the character %q; use letters, digits and hyphens", p, r)
		}
	}
	return nil
}

// path returns the API path of the server: its group and account must be
// set. The suffix is not part of it (the client checks it first).
func (n Name) path() string {
	return groupPath(n.Account, n.Group) + "/virtual_machines/" + url.PathEscape(n.Server)
}

func groupPath(account, group string) string {
	return accountPath(account) + "/groups/" + url.PathEscape(group)
}

func accountPath(account string) string {
	return "accounts/" + url.PathEscape(account)
}

// parseGroup parses "group" or "group.account"; both may be empty.
func parseGroup(s string) (group, account string, err error) {
	if s == "" {
		return "", "", nil
	}
	parts := strings.Split(strings.ToLower(s), ".")
	if len(parts) > 2 {
		return "", "", fmt.Errorf("bytemark: invalid group %q: write group or group.account", s)
	}
	for _, p := range parts {
		if err := checkLabel(p); err != nil {
			return "", "", fmt.Errorf("bytemark: invalid group %q: %w", s, err)
		}
	}
	if len(parts) == 2 {
		account = parts[1]
	}
	return parts[0], account, nil
}
