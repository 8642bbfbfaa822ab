package bytemark

import (
	"fmt"
	"net/url"
	"strings"
)

// A Name is a fully qualified server name: server, group and account.
type Name struct {
	Server  string
	Group   string
	Account string
}

// String returns the name as "server.group.account", leaving out trailing
// empty parts.
func (n Name) String() string {
	s := n.Server
	if n.Group != "" || n.Account != "" {
		s += "." + n.Group
	}
	if n.Account != "" {
		s += "." + n.Account
	}
	return s
}

// maxPartLen bounds each part of a name; real Bytemark names are far shorter.
const maxPartLen = 63

// ParseName parses a server name written as "server", "server.group",
// "server.group.account" or a full hostname such as
// "server.group.account.uk0.bigv.io" (anything after the account is ignored,
// as the official client does). Missing parts are left empty; the client
// fills them from its defaults. Each part must be a DNS label: letters,
// digits and hyphens, not starting or ending with a hyphen.
func ParseName(s string) (Name, error) {
	if s == "" {
		return Name{}, fmt.Errorf("bytemark: empty server name")
	}
	if len(s) > 253 {
		return Name{}, fmt.Errorf("bytemark: server name is too long (%d characters)", len(s))
	}
	parts := strings.Split(strings.ToLower(s), ".")
	for i, p := range parts {
		if i > 2 {
			break
		}
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
// set.
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
