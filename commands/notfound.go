package commands

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/bytebot/bytebot/bytemark"
)

// isNotFound reports whether err says the thing asked for doesn't exist
// (or the login can't see it).
func isNotFound(err error) bool { return bytemark.IsNotFound(err) }

// refused reports whether err is the API refusing the request outright, so
// that trying another way (a power cycle after a failed graceful restart)
// is pointless.
func refused(err error) bool {
	return bytemark.IsNotFound(err) || bytemark.IsForbidden(err) || bytemark.IsBadRequest(err) || bytemark.IsUnauthorized(err)
}

// serverNotFound is what a person is told when the API doesn't know the
// server a names: the group and account searched, and where a server of
// that name is (another group), or the nearest name in the group searched
// (a typo). It reads the account once; if that fails too, the message
// says only what was searched. err is the API's not-found error, kept
// underneath for logs and errors.Is.
func serverNotFound(ctx context.Context, c Cloud, a Action, err error) error {
	asked := a.Server()
	msg := fmt.Sprintf("I can't find server %s", Code(asked))
	n, rerr := c.ResolveName(ctx, asked)
	if rerr != nil {
		return &UsageError{Msg: msg + " (or this bot's Bytemark account can't see it). `/bytemark list` shows the servers.", err: err}
	}
	msg += fmt.Sprintf(" in group %s of account %s (or this bot's Bytemark account can't see it).", Code(n.Group), Code(n.Account))
	acc, oerr := c.AccountOverview(ctx, n.Account)
	if oerr != nil {
		return &UsageError{Msg: msg + " `/bytemark list` shows the servers.", err: err}
	}
	if hints := nearest(acc, n); len(hints) > 0 {
		for i, h := range hints {
			hints[i] = Code(h)
		}
		return &UsageError{Msg: msg + " Did you mean " + list(hints, "or") + "?", err: err}
	}
	return &UsageError{Msg: msg + fmt.Sprintf(" `/bytemark list %s` shows its servers.", safe(n.Group)), err: err}
}

// nearest finds what a person who asked for n (not found) probably meant:
// a server of that name in another group of the account ("stage1.staging"),
// or else the nearest name in the group searched ("web1" for "wbe1").
// Names are written as short as the defaults allow.
func nearest(acc *bytemark.Account, n bytemark.Name) []string {
	var elsewhere []string
	var here []string
	for _, g := range acc.Groups {
		for _, s := range g.Servers {
			switch {
			case strings.EqualFold(g.Name, n.Group):
				here = append(here, s.Name)
			case strings.EqualFold(s.Name, n.Server):
				elsewhere = append(elsewhere, s.Name+"."+g.Name)
			}
		}
	}
	if len(elsewhere) > 0 {
		slices.Sort(elsewhere)
		return elsewhere
	}
	if s := Suggest(strings.ToLower(n.Server), here); s != "" {
		return []string{s}
	}
	return nil
}

// listGroup reads the group a list names ("" for the default group), with
// its deleted servers, from one read of its account. A group that doesn't
// exist gets a message naming the groups that do.
func listGroup(ctx context.Context, c Cloud, group string) (bytemark.Group, string, error) {
	probe := "x"
	if group != "" {
		probe += "." + group
	}
	n, err := c.ResolveName(ctx, probe)
	if err != nil {
		return bytemark.Group{}, "", &UsageError{Msg: fmt.Sprintf("%s isn't a group I understand. Groups look like `staging` or `staging.account`.", quote(group)), err: err}
	}
	acc, err := c.AccountOverview(ctx, n.Account)
	if isNotFound(err) {
		return bytemark.Group{}, "", &UsageError{Msg: fmt.Sprintf("There's no account %s (or this bot's Bytemark account can't see it).", Code(n.Account)), err: err}
	}
	if err != nil {
		return bytemark.Group{}, "", err
	}
	var names []string
	for _, g := range acc.Groups {
		if strings.EqualFold(g.Name, n.Group) {
			return g, n.Account, nil
		}
		names = append(names, Code(g.Name))
	}
	msg := fmt.Sprintf("There's no group %s in account %s", Code(n.Group), Code(n.Account))
	if len(names) > 0 {
		msg += "; its groups are " + list(names, "and")
	}
	return bytemark.Group{}, "", &UsageError{Msg: msg + ".", err: &bytemark.Error{Method: "GET", Path: "group " + n.Group, StatusCode: 404, Message: "no such group"}}
}
