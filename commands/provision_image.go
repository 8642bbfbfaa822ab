package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bytebot/bytebot/bytemark"
)

// Run implements Runnable. The image is checked first. A running server is
// shut down cleanly and, if it is still on at the deadline, powered off;
// then it is reimaged, and the answer waits for it to be up. The root
// password goes in Result.Private.
func (a Reimage) Run(ctx context.Context, c Cloud) (Result, error) {
	if err := checkImage(ctx, c, a.Distribution); err != nil {
		return Result{}, err
	}
	s, name, err := liveServer(ctx, c, a.Target)
	if err != nil {
		return Result{Server: s}, err
	}
	how := "it was off"
	if s.PowerOn {
		how = "shut down cleanly"
		err := c.ShutdownServer(ctx, a.Target)
		var timeout *bytemark.PowerTimeoutError
		if errors.As(err, &timeout) && ctx.Err() == nil {
			how = "powered off when it didn't shut down in time"
			err = c.StopServer(ctx, a.Target)
		}
		if err != nil {
			return Result{Server: s}, err
		}
	}
	password, err := rootPassword()
	if err != nil {
		return Result{Server: s}, err
	}
	if err := c.ReimageServer(ctx, a.Target, bytemark.ImageInstall{Distribution: a.Distribution, RootPassword: password}); err != nil {
		if s.PowerOn {
			err = startAgain(ctx, c, a.Target, name, err)
		}
		if bytemark.IsBadRequest(err) {
			return Result{Server: s}, &UsageError{Msg: fmt.Sprintf("Bytemark refused to reimage `%s`: %s.%s", name, apiProblems(err), againNote(s.PowerOn, name)), err: err}
		}
		return Result{Server: s}, err
	}
	first := "its first disc"
	if len(s.Discs) > 0 {
		d := s.Discs[0]
		first = fmt.Sprintf("its first disc (%s, %s)", safe(d.Label), HumanSize(d.Size))
	}
	after := waitUp(ctx, c, name, s)
	state := "it is up"
	if !after.PowerOn {
		state = fmt.Sprintf("it is still installing; `/bytemark show %s` tells when it is on", name)
	}
	return Result{
		Summary: fmt.Sprintf("%s reimaged with %s (%s): %s was wiped and the new system installed; %s", name, a.Distribution, how, first, state),
		Fields:  loginFields(after, true),
		Server:  after,
		Private: privateNote(name, password, after),
	}, nil
}

// Run implements Runnable.
func (a Rescue) Run(ctx context.Context, c Cloud) (Result, error) {
	s, name, err := liveServer(ctx, c, a.Target)
	if err != nil {
		return Result{Server: s}, err
	}
	if err := c.RescueServer(ctx, a.Target); err != nil {
		var timeout *bytemark.PowerTimeoutError
		if errors.As(err, &timeout) {
			return Result{Server: s}, notOff(name, "started in rescue", err)
		}
		return Result{Server: s}, err
	}
	was := "it was off"
	if s.PowerOn {
		was = "shut down cleanly first"
	}
	after, err := c.GetServer(ctx, a.Target)
	if err != nil {
		after = s
	}
	return Result{
		Summary: fmt.Sprintf("%s started in the rescue system (%s); its discs are untouched", name, was),
		Fields: []Field{{Label: "To get back", Value: fmt.Sprintf("`/bytemark restart %s` boots its own system again (the rescue system is for this boot only).", name)},
			{Label: "Console", Value: "Log in to the rescue system from the server's console in the Bytemark panel."}},
		Server: after,
	}, nil
}

// Run implements Runnable. The list is cached for an hour.
func (Images) Run(ctx context.Context, c Cloud) (Result, error) {
	d, err := c.CachedDefinitions(ctx, imagesMaxAge)
	if err != nil {
		return Result{}, err
	}
	names := slices.Sorted(slices.Values(d.Distributions))
	var lines []string
	for _, n := range names {
		line := "`" + safe(n) + "`"
		if desc := d.DistributionDescriptions[n]; desc != "" {
			line += ": " + safe(desc)
		}
		lines = append(lines, line)
	}
	res := Result{Summary: fmt.Sprintf("%s to create or reimage servers with", count(len(names), "image"))}
	if len(lines) > 0 {
		res.Fields = []Field{{Label: "Images", Value: strings.Join(lines, "\n")}}
	}
	return res, nil
}
