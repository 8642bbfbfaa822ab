package commands

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/bytebot/bytebot/bytemark"
)

// imagesMaxAge is how long the list of images (GET /definitions) is kept.
const imagesMaxAge = time.Hour

// Run implements Runnable. A change the API refuses while the server runs
// is answered with the way to do it (`resize … restart`).
func (a Resize) Run(ctx context.Context, c Cloud) (Result, error) {
	s, name, err := liveServer(ctx, c, a.Target)
	if err != nil {
		return Result{Server: s}, err
	}
	var u bytemark.ServerUpdate
	var changes []string
	if a.Cores != 0 && a.Cores != s.Cores {
		u.Cores = &a.Cores
		changes = append(changes, fmt.Sprintf("%s → %s", count(s.Cores, "core"), count(a.Cores, "core")))
	}
	if a.MemoryMiB != 0 && a.MemoryMiB != s.Memory {
		u.MemoryMiB = &a.MemoryMiB
		changes = append(changes, fmt.Sprintf("memory %s → %s", HumanSize(s.Memory), HumanSize(a.MemoryMiB)))
	}
	if len(changes) == 0 {
		return Result{Summary: fmt.Sprintf("%s already has %s and %s memory; nothing to do", name, count(s.Cores, "core"), HumanSize(s.Memory)), Server: s}, nil
	}
	restart := a.Restart && s.PowerOn
	if restart {
		if err := c.ShutdownServer(ctx, a.Target); err != nil {
			return Result{Server: s}, notOff(name, "resized", err)
		}
	}
	ns, err := c.UpdateServer(ctx, a.Target, u)
	if err != nil {
		if restart {
			err = startAgain(ctx, c, a.Target, name, err)
		}
		if bytemark.IsBadRequest(err) {
			msg := fmt.Sprintf("Bytemark refused to resize `%s`: %s.", name, apiProblems(err))
			if s.PowerOn && !a.Restart {
				r := a
				r.Target, r.Restart = name, true
				msg += fmt.Sprintf(" It may not change a running server: `/bytemark %s` shuts it down cleanly, resizes it and starts it again.", r.String())
			}
			return Result{Server: s}, &UsageError{Msg: msg, err: err}
		}
		return Result{Server: s}, err
	}
	sum := fmt.Sprintf("%s resized: %s", name, strings.Join(changes, ", "))
	switch {
	case restart:
		if err := c.StartServer(ctx, a.Target); err != nil {
			return Result{Server: ns}, fmt.Errorf("%s was resized but did not start again (start it with `/bytemark start %s`): %w", name, name, err)
		}
		sum += " (shut down, resized and started again)"
	case s.PowerOn:
		sum += fmt.Sprintf("; it runs on the old size until it restarts (`/bytemark restart %s`)", name)
	default:
		sum += " (it is off; the new size applies when it starts)"
	}
	if after, err := c.GetServer(ctx, a.Target); err == nil {
		ns = after
	}
	return Result{Summary: sum, Server: ns}, nil
}

// Run implements Runnable. A name taken in the group is refused before
// anything is changed.
func (a Rename) Run(ctx context.Context, c Cloud) (Result, error) {
	s, name, err := liveServer(ctx, c, a.Target)
	if err != nil {
		return Result{Server: s}, err
	}
	short, group, _ := strings.Cut(name, ".")
	if s.Name == a.NewName {
		return Result{Summary: fmt.Sprintf("%s is already called %s; nothing to do", name, a.NewName), Server: s}, nil
	}
	taken := &UsageError{Msg: fmt.Sprintf("There is already a server called `%s` in group `%s` (a deleted one keeps its name until it is purged); choose another name.", a.NewName, group)}
	if other, err := c.GetServer(ctx, a.NewName+"."+group); err == nil && other.Name == a.NewName {
		return Result{Server: s}, taken
	} else if err != nil && !isNotFound(err) {
		return Result{Server: s}, err
	}
	ns, err := c.UpdateServer(ctx, a.Target, bytemark.ServerUpdate{Name: &a.NewName})
	switch {
	case bytemark.IsNameTaken(err):
		taken.err = err
		return Result{Server: s}, taken
	case bytemark.IsBadRequest(err):
		return Result{Server: s}, &UsageError{Msg: fmt.Sprintf("Bytemark refused to rename `%s`: %s.", name, apiProblems(err)), err: err}
	case err != nil:
		return Result{Server: s}, err
	}
	newName := a.NewName + "." + group
	return Result{Summary: fmt.Sprintf("%s renamed to %s (was %s)", newName, a.NewName, short), Server: ns}, nil
}

// Run implements Runnable. An unknown group or a name taken there is
// refused before anything is changed. A running server is shut down
// cleanly, moved and started again; if the move is refused it is started
// again where it was.
func (a Move) Run(ctx context.Context, c Cloud) (Result, error) {
	s, name, err := liveServer(ctx, c, a.Target)
	if err != nil {
		return Result{Server: s}, err
	}
	short, from, _ := strings.Cut(name, ".")
	g, err := c.GetGroup(ctx, a.Group)
	if err != nil {
		return Result{Server: s}, groupErr(a.Group, err)
	}
	if g.ID == s.GroupID {
		return Result{Summary: fmt.Sprintf("%s is already in group %s; nothing to do", name, a.Group), Server: s}, nil
	}
	if other, err := c.GetServer(ctx, short+"."+a.Group); err == nil && other.Name == short {
		return Result{Server: s}, &UsageError{Msg: fmt.Sprintf("Group `%s` already has a server called `%s`; rename one of them first (`/bytemark rename %s &lt;new-name&gt;`).", a.Group, short, name)}
	} else if err != nil && !isNotFound(err) {
		return Result{Server: s}, err
	}
	wasOn := s.PowerOn
	if wasOn {
		if err := c.ShutdownServer(ctx, a.Target); err != nil {
			return Result{Server: s}, notOff(name, "moved", err)
		}
	}
	moved, err := c.MoveServer(ctx, a.Target, a.Group)
	if err != nil {
		if wasOn {
			err = startAgain(ctx, c, a.Target, name, err)
		}
		var unknown *bytemark.UnknownGroupError
		switch {
		case errors.As(err, &unknown):
			return Result{Server: s}, groupErr(a.Group, err)
		case bytemark.IsBadRequest(err):
			return Result{Server: s}, &UsageError{Msg: fmt.Sprintf("Bytemark refused to move `%s` to group `%s`: %s.%s", name, a.Group, apiProblems(err), againNote(wasOn, name)), err: err}
		case bytemark.IsForbidden(err):
			return Result{Server: s}, &UsageError{Msg: fmt.Sprintf("Bytemark refused to move `%s` to group `%s`: this bot's login may not change servers there.%s", name, a.Group, againNote(wasOn, name)), err: err}
		}
		return Result{Server: s}, err
	}
	newName := displayName(short+"."+a.Group, moved)
	sum := fmt.Sprintf("%s moved from group %s to %s", newName, from, strings.TrimPrefix(newName, short+"."))
	if wasOn {
		if err := c.StartServer(ctx, newName); err != nil {
			return Result{Server: moved}, fmt.Errorf("%s was moved (now %s) but did not start again (start it with `/bytemark start %s`): %w", name, newName, newName, err)
		}
		sum += " (shut down, moved and started again)"
	}
	if after, err := c.GetServer(ctx, newName); err == nil {
		moved = after
	}
	return Result{Summary: sum, Server: moved}, nil
}

// Run implements Runnable. The image, the group and the name are checked
// before anything is created. The answer waits for the server to be up
// (within the action's time); the root password goes in Result.Private.
func (a Create) Run(ctx context.Context, c Cloud) (Result, error) {
	if err := a.Check(ctx, c); err != nil {
		return Result{}, err
	}
	parts := strings.SplitN(a.Target, ".", 2)
	group := ""
	if len(parts) == 2 {
		group = parts[1]
	}
	taken := a.taken()
	spec := bytemark.ServerSpec{Cores: a.Cores, MemoryMiB: a.MemoryMiB, Stopped: a.Stopped}
	for _, d := range a.Discs {
		if d != (NewDisc{}) {
			spec.Discs = append(spec.Discs, bytemark.DiscSpec{SizeMiB: d.SizeMiB, StorageGrade: d.Grade})
		}
	}
	password := ""
	if a.Distribution != "" {
		var err error
		if password, err = rootPassword(); err != nil {
			return Result{}, err
		}
		spec.Image = &bytemark.ImageInstall{Distribution: a.Distribution, RootPassword: password}
	}
	s, err := c.CreateServer(ctx, a.Target, spec)
	var unknown *bytemark.UnknownGroupError
	switch {
	case bytemark.IsNameTaken(err):
		taken.err = err
		return Result{}, taken
	case errors.As(err, &unknown):
		return Result{}, groupErr(group, err)
	case bytemark.IsBadRequest(err):
		return Result{}, &UsageError{Msg: fmt.Sprintf("Bytemark refused to create `%s`: %s.", a.Target, apiProblems(err)), err: err}
	case err != nil:
		return Result{}, err
	}
	name := displayName(a.Target, s)
	if a.Distribution != "" && !a.Stopped {
		s = waitUp(ctx, c, name, s)
	} else if after, err := c.GetServer(ctx, name); err == nil {
		s = after
	}
	res := Result{Server: s}
	size := fmt.Sprintf("%s, %s memory, %s", count(s.Cores, "core"), HumanSize(s.Memory), count(len(spec.Discs), "disc"))
	switch {
	case a.Distribution == "":
		res.Summary = fmt.Sprintf("%s created with no operating system (%s); it is off", name, size)
	case a.Stopped:
		res.Summary = fmt.Sprintf("%s created with %s (%s); it is off, as asked: `/bytemark start %s` starts it", name, a.Distribution, size, name)
	case s.PowerOn:
		res.Summary = fmt.Sprintf("%s is up with %s (%s)", name, a.Distribution, size)
	default:
		res.Summary = fmt.Sprintf("%s created with %s (%s) and still installing; `/bytemark show %s` tells when it is on", name, a.Distribution, size, name)
	}
	res.Fields = loginFields(s, a.Distribution != "")
	if password != "" {
		res.Private = privateNote(name, password, s)
	}
	return res, nil
}

// liveServer reads a server that is to be changed, and its canonical
// name; a deleted one is refused.
func liveServer(ctx context.Context, c Cloud, target string) (*bytemark.Server, string, error) {
	s, err := c.GetServer(ctx, target)
	if err != nil {
		return nil, target, err
	}
	name := displayName(target, s)
	if s.Deleted {
		return s, name, &UsageError{Msg: fmt.Sprintf("`%s` is deleted; `/bytemark undelete %s` first.", name, name)}
	}
	return s, name, nil
}

// checkImage refuses a distribution that /definitions doesn't list.
func checkImage(ctx context.Context, c Cloud, dist string) error {
	d, err := c.CachedDefinitions(ctx, imagesMaxAge)
	if err != nil {
		return err
	}
	if d.HasDistribution(dist) {
		return nil
	}
	var names []string
	for _, n := range slices.Sorted(slices.Values(d.Distributions)) {
		names = append(names, Code(n))
	}
	msg := fmt.Sprintf("Bytemark has no image %s.", quote(dist))
	if s := closest(dist, d.Distributions); s != "" {
		msg += fmt.Sprintf(" Did you mean `%s`?", safe(s))
	}
	if len(names) > 0 {
		msg += " The images are " + list(names, "and") + "."
	}
	return &UsageError{Msg: msg}
}

// groupErr explains an error reading a group.
func groupErr(group string, err error) error {
	var unknown *bytemark.UnknownGroupError
	if errors.As(err, &unknown) || isNotFound(err) {
		if group == "" {
			group = "(the default group)"
		}
		// Not wrapping err: it is a 404, which callers would take for an
		// unknown server.
		return &UsageError{Msg: fmt.Sprintf("There is no group %s (or this bot's Bytemark account can't see it). Groups look like `default` or `default.acme`.", quote(group))}
	}
	return err
}

// notOff explains a shutdown that didn't finish before an action.
func notOff(name, what string, err error) error {
	var timeout *bytemark.PowerTimeoutError
	if errors.As(err, &timeout) {
		return &UsageError{Msg: fmt.Sprintf("`%s` didn't shut down in time (after %s), so it wasn't %s. It is still on, with autoreboot off; try again, or `/bytemark stop %s` first if it is hung.",
			name, HumanDuration(timeout.Waited), what, name), err: err}
	}
	return err
}

// startAgain starts a server that was shut down for a change that then
// failed, and returns the change's error (noting a failed start in it).
func startAgain(ctx context.Context, c Cloud, target, name string, cause error) error {
	if err := c.StartServer(ctx, target); err != nil {
		return fmt.Errorf("%w (and starting %s again failed too: %v)", cause, name, err)
	}
	return cause
}

func againNote(wasOn bool, name string) string {
	if wasOn {
		return fmt.Sprintf(" `%s` was started again where it was.", name)
	}
	return ""
}

// apiProblems returns what the API said was wrong, escaped for Slack.
func apiProblems(err error) string {
	var e *bytemark.Error
	if errors.As(err, &e) && e.Message != "" {
		return safe(e.Message)
	}
	return "it gave no reason"
}

// waitUp polls a server that is being built or imaged until it is powered
// on, and returns it as last read. It stops in time to leave ctx's last 20
// seconds for the answer; a server not up by then is returned as it is.
func waitUp(ctx context.Context, c Cloud, name string, s *bytemark.Server) *bytemark.Server {
	stop := time.Now().Add(4 * time.Minute)
	if dl, ok := ctx.Deadline(); ok {
		stop = dl.Add(-20 * time.Second)
	}
	wait := time.Second
	for {
		if after, err := c.GetServer(ctx, name); err == nil {
			s = after
		}
		if s.PowerOn || !time.Now().Add(wait).Before(stop) {
			return s
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return s
		case <-t.C:
		}
		wait = min(wait*2, 10*time.Second)
	}
}

// loginFields says where a server is and how to log in.
func loginFields(s *bytemark.Server, imaged bool) []Field {
	var fs []Field
	addrs := ips(s)
	if len(addrs) > 0 {
		fs = append(fs, Field{Label: "IP addresses", Value: safe(strings.Join(addrs, ", "))})
	}
	if s.Hostname != "" {
		fs = append(fs, Field{Label: "Hostname", Value: safe(s.Hostname)})
	}
	if imaged {
		fs = append(fs, Field{Label: "Log in", Value: fmt.Sprintf("`ssh root@%s` with the root password sent privately to whoever asked (once)", safe(loginHost(s)))})
	}
	return fs
}

// loginHost is the address to log in to: the first IPv4 address, else the
// hostname.
func loginHost(s *bytemark.Server) string {
	for _, ip := range ips(s) {
		if strings.Count(ip, ".") == 3 {
			return ip
		}
	}
	if s.Hostname != "" {
		return strings.ToLower(s.Hostname)
	}
	return displayName("", s)
}

// privateNote is the requester's private message with the root password.
func privateNote(name, password string, s *bytemark.Server) string {
	return fmt.Sprintf("Root password of `%s`: `%s`\nOnly you can see this, and only now: it isn't kept anywhere. Log in with `ssh root@%s` and change it (`passwd`).",
		name, password, safe(loginHost(s)))
}

// passwordAlphabet has no characters that look alike (0/O, 1/l/I).
const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// rootPassword returns a new random root password: 20 characters from
// passwordAlphabet (over 110 bits), from crypto/rand.
func rootPassword() (string, error) {
	b := make([]byte, 20)
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("commands: making a root password: %w", err)
		}
		b[i] = passwordAlphabet[n.Int64()]
	}
	return string(b), nil
}
