package bot

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// A snapshot is what an approver is shown: the server and what the action
// would destroy. Its JSON is stored in the ticket; before the action runs the
// server is read again and, if the snapshot differs, the ticket is refused
// and re-asked. The power state is shown on the card but is deliberately not
// part of the comparison: it says nothing about what would be destroyed.
type snapshot struct {
	Server   string      `json:"server"` // as the action names it
	ID       int         `json:"id"`
	Hostname string      `json:"hostname"`
	Deleted  bool        `json:"deleted,omitempty"`
	Cores    int         `json:"cores,omitempty"`
	Memory   int         `json:"memory,omitempty"` // MiB
	Discs    []discShape `json:"discs"`
	IPs      []string    `json:"ips,omitempty"`
	// Creates is set for a server to be created (create.go): the rest
	// is what it will have, and Image its operating system.
	Creates bool   `json:"creates,omitempty"`
	Image   string `json:"image,omitempty"`
}

// discShape is a disc as an approver sees it. ID tells a disc from a new
// one of the same label, size and grade: the data the approvers agreed to
// destroy is not the new disc's.
type discShape struct {
	ID    int    `json:"id,omitempty"`
	Label string `json:"label"`
	Size  int    `json:"size"` // MiB
	Grade string `json:"grade"`
}

// takeSnapshot describes srv for an action on it. With disc set, only that
// disc is included (a disc purge destroys nothing else); it is an error if
// the server has no such disc.
func takeSnapshot(name string, srv *bytemark.Server, disc string) (snapshot, error) {
	snap := snapshot{
		Server:   name,
		ID:       srv.ID,
		Hostname: srv.Hostname,
		Deleted:  srv.Deleted,
		Cores:    srv.Cores,
		Memory:   srv.Memory,
		Discs:    []discShape{},
	}
	for _, d := range srv.Discs {
		if disc != "" && d.Label != disc {
			continue
		}
		snap.Discs = append(snap.Discs, discShape{ID: d.ID, Label: d.Label, Size: d.Size, Grade: d.StorageGrade})
	}
	if disc != "" {
		if len(snap.Discs) == 0 {
			return snapshot{}, errNoDisc
		}
		return snap, nil
	}
	slices.SortFunc(snap.Discs, func(a, b discShape) int { return strings.Compare(a.Label, b.Label) })
	for _, nic := range srv.NetworkInterfaces {
		snap.IPs = append(snap.IPs, nic.IPs...)
		for ip := range nic.ExtraIPs {
			snap.IPs = append(snap.IPs, ip)
		}
	}
	slices.Sort(snap.IPs)
	snap.IPs = slices.Compact(snap.IPs)
	return snap, nil
}

// errNoDisc is returned by takeSnapshot for a disc the server doesn't have.
var errNoDisc = fmt.Errorf("bot: no such disc")

// String returns the snapshot's canonical JSON.
func (s snapshot) String() string {
	b, err := json.Marshal(s)
	if err != nil {
		// Marshalling strings, ints and bools cannot fail.
		panic(err)
	}
	return string(b)
}

// parseSnapshot reads a snapshot stored in a ticket.
func parseSnapshot(s string) (snapshot, bool) {
	var snap snapshot
	if err := json.Unmarshal([]byte(s), &snap); err != nil {
		return snapshot{}, false
	}
	return snap, true
}

// diff describes how two snapshots differ, for people, as Slack mrkdwn
// (what came from the API is escaped).
func (s snapshot) diff(now snapshot) string {
	var d []string
	if s.ID != now.ID {
		d = append(d, fmt.Sprintf("it is a different server now (id %d, was %d)", now.ID, s.ID))
	}
	if s.Deleted != now.Deleted {
		d = append(d, fmt.Sprintf("deleted is now %t", now.Deleted))
	}
	if s.Cores != now.Cores || s.Memory != now.Memory {
		d = append(d, fmt.Sprintf("it now has %s and %s memory (was %s and %s)",
			slackui.Plural(now.Cores, "core"), commands.HumanSize(now.Memory), slackui.Plural(s.Cores, "core"), commands.HumanSize(s.Memory)))
	}
	if !slices.Equal(s.Discs, now.Discs) {
		if was, is := discList(s.Discs), discList(now.Discs); was == is {
			d = append(d, fmt.Sprintf("its discs %s were replaced by new ones", is))
		} else {
			d = append(d, fmt.Sprintf("its discs are now %s (were %s)", is, was))
		}
	}
	if !slices.Equal(s.IPs, now.IPs) {
		d = append(d, fmt.Sprintf("its IP addresses are now %s (were %s)", orNone(now.IPs), orNone(s.IPs)))
	}
	if len(d) == 0 {
		return "it changed"
	}
	return strings.Join(d, "; ")
}

func discList(ds []discShape) string {
	if len(ds) == 0 {
		return "none"
	}
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%s %s %s", commands.Escape(d.Label), commands.HumanSize(d.Size), commands.Escape(d.Grade)))
	}
	return strings.Join(parts, ", ")
}

func orNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return commands.Escape(strings.Join(ss, ", "))
}

// subject is what an approval card shows of the snapshot; power is the
// power state when the card was made.
func (s snapshot) subject(power string) slackui.Subject {
	name := s.Hostname
	if name == "" {
		name = s.Server
	}
	sub := slackui.Subject{Name: name, Power: power, Deleted: s.Deleted, Cores: s.Cores, Memory: s.Memory, IPs: s.IPs,
		Creates: s.Creates, Image: s.Image}
	if s.Creates {
		sub.Power = "not created yet"
	}
	for _, d := range s.Discs {
		sub.Discs = append(sub.Discs, slackui.Disc{Label: d.Label, Size: d.Size, Grade: d.Grade})
	}
	return sub
}
