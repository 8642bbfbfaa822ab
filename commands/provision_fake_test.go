package commands

import (
	"context"
	"errors"
	"time"

	"github.com/bytebot/bytebot/bytemark"
)

// The in-memory fakeCloud doesn't model the server commands; their tests
// run against the bytemarktest fake through the real client
// (provision_test.go).
var errNotModelled = errors.New("fakeCloud: not modelled")

func (f *fakeCloud) UpdateServer(context.Context, string, bytemark.ServerUpdate) (*bytemark.Server, error) {
	return nil, errNotModelled
}

func (f *fakeCloud) MoveServer(context.Context, string, string) (*bytemark.Server, error) {
	return nil, errNotModelled
}

func (f *fakeCloud) GetGroup(context.Context, string) (*bytemark.Group, error) {
	return nil, errNotModelled
}

func (f *fakeCloud) CreateServer(context.Context, string, bytemark.ServerSpec) (*bytemark.Server, error) {
	return nil, errNotModelled
}

func (f *fakeCloud) ReimageServer(context.Context, string, bytemark.ImageInstall) error {
	return errNotModelled
}

func (f *fakeCloud) RescueServer(context.Context, string) error { return errNotModelled }

func (f *fakeCloud) CachedDefinitions(context.Context, time.Duration) (*bytemark.Definitions, error) {
	return nil, errNotModelled
}

func (f *fakeCloud) ResolveName(_ context.Context, s string) (bytemark.Name, error) {
	n, err := bytemark.ParseName(s)
	if n.Group == "" {
		n.Group = "default"
	}
	if n.Account == "" {
		n.Account = "acme"
	}
	return n, err
}

// AccountOverview is the one account: its servers in group default.
func (f *fakeCloud) AccountOverview(ctx context.Context, account string) (*bytemark.Account, error) {
	if err := f.err(ctx, "AccountOverview"); err != nil {
		return nil, err
	}
	g := bytemark.Group{Name: "default"}
	for _, s := range f.servers {
		g.Servers = append(g.Servers, *s)
	}
	return &bytemark.Account{Name: "acme", Groups: []bytemark.Group{g}}, nil
}
