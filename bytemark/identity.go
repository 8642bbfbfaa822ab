package bytemark

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// An Identity is a server as the API knows it: one server, however it was
// named (web1, web1.default, web1.default.acme, its full hostname, or
// numeric IDs in any part: 1001, web1.11.acme, web1.default.1).
type Identity struct {
	// ID is the server's numeric ID, which no rename changes.
	ID int
	// Name is the canonical name server.group.account, from the API's own
	// name and hostname for the server (no suffix).
	Name Name
	// Hostname is the hostname the API reports, in lower case, e.g.
	// web1.default.acme.uk0.bigv.io.
	Hostname string
}

// Suffix returns what the API's hostname has after the account, e.g.
// "uk0.bigv.io".
func (id Identity) Suffix() string {
	return strings.TrimPrefix(id.Hostname, id.Name.String()+".")
}

// ref is the name that reaches the server by its ID: the ID as the vm
// segment of the nested path, under the canonical group and account.
func (id Identity) ref() Name {
	return Name{Server: strconv.Itoa(id.ID), Group: id.Name.Group, Account: id.Name.Account}
}

// A SuffixError refuses a server name whose part after the account is not
// the suffix of the hostname the API reports for that server.
type SuffixError struct {
	Asked    string // the name as written, lower case
	Suffix   string // what was written after the account
	Hostname string // the API's hostname for the server
}

func (e *SuffixError) Error() string {
	return fmt.Sprintf("bytemark: server name %s ends in %q, but the API's hostname for that server is %s: write the name without anything after the account, or the hostname exactly",
		e.Asked, e.Suffix, e.Hostname)
}

// IsWrongSuffix reports whether err is a *SuffixError.
func IsWrongSuffix(err error) bool {
	var e *SuffixError
	return errors.As(err, &e)
}

// Identify resolves a server name (any form ParseName takes; numeric IDs
// may stand for any part) to the server's Identity by reading it from the
// API. A name with a suffix (anything after the account) is refused with a
// *SuffixError unless the suffix is exactly that of the hostname the API
// reports for the server: the suffix is learnt from the API, never from the
// API's URL. An unknown server is an *Error with IsNotFound.
//
// Bytemark API docs: GET /accounts/{a}/groups/{g}/virtual_machines/{vm}?include_deleted=true.
func (c *Client) Identify(ctx context.Context, name string) (Identity, error) {
	n, err := c.ResolveName(ctx, name)
	if err != nil {
		return Identity{}, err
	}
	s := new(Server)
	if err := c.call(ctx, http.MethodGet, n.path()+"?include_deleted=true", nil, s); err != nil {
		return Identity{}, err
	}
	return identify(n, s)
}

// identify returns the identity of s, read as n, checking n's suffix.
func identify(n Name, s *Server) (Identity, error) {
	host := strings.ToLower(s.Hostname)
	parts := strings.Split(host, ".")
	bad := len(parts) < 4 || s.ID <= 0 || parts[0] != strings.ToLower(s.Name)
	for _, p := range parts {
		bad = bad || checkLabel(p) != nil
	}
	if bad {
		return Identity{}, fmt.Errorf("bytemark: the API describes %s as server %d named %q with hostname %q, not name.group.account.domain",
			n, s.ID, s.Name, s.Hostname)
	}
	id := Identity{ID: s.ID, Name: Name{Server: parts[0], Group: parts[1], Account: parts[2]}, Hostname: host}
	if n.Suffix != "" && n.Suffix != id.Suffix() {
		return Identity{}, &SuffixError{Asked: n.String(), Suffix: n.Suffix, Hostname: host}
	}
	return id, nil
}

// target resolves a server name for a call: the defaults filled in and, if
// it has a suffix, the suffix checked against the API's hostname for the
// server (one extra read).
func (c *Client) target(ctx context.Context, name string) (Name, error) {
	n, err := c.ResolveName(ctx, name)
	if err != nil || n.Suffix == "" {
		return n, err
	}
	if _, err := c.Identify(ctx, name); err != nil {
		return Name{}, err
	}
	return n.Short(), nil
}

// pinned returns the name that reaches id's server by its numeric ID,
// after checking that the API answers for that path with that very server
// (a server named like another's ID would otherwise stand in for it, as
// nested paths look names up before IDs).
func (c *Client) pinned(ctx context.Context, id Identity) (Name, error) {
	if id.ID <= 0 || id.Name.Group == "" || id.Name.Account == "" {
		return Name{}, fmt.Errorf("bytemark: incomplete server identity %+v", id)
	}
	n := id.ref()
	s := new(Server)
	if err := c.call(ctx, http.MethodGet, n.path()+"?include_deleted=true", nil, s); err != nil {
		return Name{}, err
	}
	if s.ID != id.ID {
		return Name{}, fmt.Errorf("bytemark: %s answers with server %d (%s), not server %d (%s); nothing was done",
			n, s.ID, s.Hostname, id.ID, id.Name)
	}
	return n, nil
}

// DeleteServerByID deletes (softly) the server with id's numeric ID, in
// id's group and account, whatever it is called now.
//
// Bytemark API docs: DELETE /accounts/{a}/groups/{g}/virtual_machines/{id}.
func (c *Client) DeleteServerByID(ctx context.Context, id Identity) error {
	n, err := c.pinned(ctx, id)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, n.path(), nil, nil)
}

// UndeleteServerByID restores the deleted server with id's numeric ID, in
// id's group and account, whatever it is called now.
//
// Bytemark API docs: PUT /accounts/{a}/groups/{g}/virtual_machines/{id} {"deleted":false}.
func (c *Client) UndeleteServerByID(ctx context.Context, id Identity) error {
	n, err := c.pinned(ctx, id)
	if err != nil {
		return err
	}
	return c.put(ctx, n, map[string]bool{"deleted": false})
}

// PurgeServerByID purges the server with id's numeric ID, in id's group
// and account, whatever it is called now. It cannot be undone.
//
// Bytemark API docs: DELETE /accounts/{a}/groups/{g}/virtual_machines/{id}?purge=true.
func (c *Client) PurgeServerByID(ctx context.Context, id Identity) error {
	n, err := c.pinned(ctx, id)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, n.path()+"?purge=true", nil, nil)
}

// PurgeDiscByID purges a disc of the server with id's numeric ID, whatever
// the server is called now. It cannot be undone.
//
// Bytemark API docs: DELETE /accounts/{a}/groups/{g}/virtual_machines/{id}/discs/{label}?purge=true.
func (c *Client) PurgeDiscByID(ctx context.Context, id Identity, label string) error {
	path, err := discPath(id.ref(), label)
	if err != nil {
		return err
	}
	if _, err := c.pinned(ctx, id); err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, path+"?purge=true", nil, nil)
}

// ReimageServerByID installs an operating system on the first disc of the
// server with id's numeric ID, in id's group and account, whatever it is
// called now, as ReimageServer does. It destroys the disc's data.
//
// Bytemark API docs: POST /accounts/{a}/groups/{g}/virtual_machines/{id}/reimage.
func (c *Client) ReimageServerByID(ctx context.Context, id Identity, img ImageInstall) error {
	body, err := img.wire()
	if err != nil {
		return err
	}
	n, err := c.pinned(ctx, id)
	if err != nil {
		return err
	}
	return withoutSecret(c.call(ctx, http.MethodPost, n.path()+"/reimage", body, nil), img.RootPassword)
}

// IdentifyAll identifies several servers at once, as Identify does each:
// every name gets an Identity or an error (IsNotFound for a server its
// group doesn't have, a *SuffixError for a wrong suffix). A group named by
// two or more of them is read once, with its servers, instead of each
// server; a few reads run at a time.
//
// Bytemark API docs: GET /accounts/{a}/groups/{g}?view=overview&include_deleted=true.
func (c *Client) IdentifyAll(ctx context.Context, names []string) (map[string]Identity, map[string]error) {
	ids := make(map[string]Identity, len(names))
	errs := map[string]error{}
	type group struct {
		path  string
		names []string
		parts []Name
	}
	var groups []*group
	byPath := map[string]*group{}
	for _, name := range names {
		if _, done := ids[name]; done {
			continue
		}
		if _, done := errs[name]; done {
			continue
		}
		n, err := c.ResolveName(ctx, name)
		if err != nil {
			errs[name] = err
			continue
		}
		p := groupPath(n.Account, n.Group)
		g := byPath[p]
		if g == nil {
			g = &group{path: p}
			byPath[p] = g
			groups = append(groups, g)
		}
		g.names = append(g.names, name)
		g.parts = append(g.parts, n)
	}
	var mu sync.Mutex
	set := func(name string, id Identity, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs[name] = err
		} else {
			ids[name] = id
		}
	}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, g := range groups {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if len(g.names) == 1 {
				id, err := c.Identify(ctx, g.names[0])
				set(g.names[0], id, err)
				return
			}
			var grp Group
			err := c.call(ctx, http.MethodGet, g.path+"?view=overview&include_deleted=true", nil, &grp)
			for i, name := range g.names {
				if err != nil {
					set(name, Identity{}, err)
					continue
				}
				s := findServer(grp.Servers, g.parts[i].Server)
				if s == nil {
					set(name, Identity{}, &Error{Method: http.MethodGet, Path: "/" + g.parts[i].path(), StatusCode: http.StatusNotFound,
						Message: "no such server in its group"})
					continue
				}
				id, err := identify(g.parts[i], s)
				set(name, id, err)
			}
		})
	}
	wg.Wait()
	return ids, errs
}

// findServer finds a server of a group by name or else by numeric ID, as
// the API resolves a nested path's vm segment.
func findServer(servers []Server, seg string) *Server {
	for i := range servers {
		if strings.EqualFold(servers[i].Name, seg) {
			return &servers[i]
		}
	}
	if id, err := strconv.Atoi(seg); err == nil {
		for i := range servers {
			if servers[i].ID == id {
				return &servers[i]
			}
		}
	}
	return nil
}
