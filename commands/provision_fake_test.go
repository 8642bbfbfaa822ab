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
