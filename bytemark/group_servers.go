package bytemark

import (
	"context"
	"net/http"
)

// ListAllServers lists every server of a group, deleted ones too, with
// their discs and network interfaces, in one request. group is "" (the
// default group), "group" or "group.account". A group that does not exist,
// or that the login cannot see, is an *UnknownGroupError.
//
// Bytemark API docs: GET /accounts/{account}/groups/{group}?view=overview&include_deleted=true.
func (c *Client) ListAllServers(ctx context.Context, group string) ([]Server, error) {
	g, account, err := c.resolveGroup(ctx, group)
	if err != nil {
		return nil, err
	}
	req, err := c.NewRequest(ctx, http.MethodGet, groupPath(account, g)+"?view=overview&include_deleted=true", nil)
	if err != nil {
		return nil, err
	}
	var grp Group
	if err := c.Do(req, &grp); err != nil {
		return nil, unknownGroup(err, g, account)
	}
	return grp.Servers, nil
}

// IdentityOf returns the identity of a server as the API describes it (in
// a group's list, say): its ID and the canonical name of its hostname.
func IdentityOf(s Server) (Identity, error) {
	return identify(Name{Server: s.Name}, &s)
}
