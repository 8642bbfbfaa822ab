package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/bytebot/bytebot/bytemark"
)

// Run implements Runnable.
func (a Discs) Run(ctx context.Context, c Cloud) (Result, error) {
	ds, err := c.Discs(ctx, a.Target)
	if err != nil {
		return Result{}, err
	}
	total := 0
	for _, d := range ds {
		total += d.Size
	}
	sum := fmt.Sprintf("%s has %s", a.Target, count(len(ds), "disc"))
	if total > 0 {
		sum += fmt.Sprintf(" (%s in all)", HumanSize(total))
	}
	return Result{Summary: sum, Discs: ds}, nil
}

// maxDiscs is how many discs a server can have.
const maxDiscs = 8

// restartNote tells people when a disc change is seen.
var restartNote = Field{Label: "Note", Value: "A running server sees disc changes after it restarts."}

// Run implements Runnable. It reads the discs first, to refuse a ninth
// disc or a label already in use with a clear message.
func (a DiscAdd) Run(ctx context.Context, c Cloud) (Result, error) {
	ds, err := c.Discs(ctx, a.Target)
	if err != nil {
		return Result{}, err
	}
	if len(ds) >= maxDiscs {
		return Result{Discs: ds}, &UsageError{Msg: fmt.Sprintf("`%s` already has %d discs, the most a server can have.", a.Target, len(ds))}
	}
	for _, d := range ds {
		if strings.EqualFold(d.Label, a.Label) {
			return Result{Discs: ds}, &UsageError{Msg: fmt.Sprintf("`%s` already has a disc labelled %s; choose another label.", a.Target, Code(d.Label))}
		}
	}
	d, err := c.AddDisc(ctx, a.Target, bytemark.DiscSpec{Label: a.Label, SizeMiB: a.SizeMiB, StorageGrade: a.Grade})
	if err != nil {
		return Result{}, err
	}
	res := Result{
		Summary: fmt.Sprintf("Added disc %s (%s, %s) to %s", a.Label, HumanSize(a.SizeMiB), a.Grade, a.Target),
		Fields:  []Field{restartNote},
	}
	if d != nil {
		res.Discs = []bytemark.Disc{*d}
	}
	return res, nil
}

// Run implements Runnable. It reads the disc first: discs only grow, and a
// disc already at the size needs nothing done.
func (a DiscResize) Run(ctx context.Context, c Cloud) (Result, error) {
	d, ds, err := findDisc(ctx, c, a.Target, a.Label)
	if err != nil {
		return Result{Discs: ds}, err
	}
	switch {
	case a.SizeMiB == d.Size:
		return Result{Summary: fmt.Sprintf("Disc %s on %s is already %s; nothing to do", safe(d.Label), a.Target, HumanSize(d.Size)), Discs: []bytemark.Disc{d}}, nil
	case a.SizeMiB < d.Size:
		return Result{Discs: []bytemark.Disc{d}}, &UsageError{Msg: fmt.Sprintf("Disc %s on `%s` is %s, and discs can only grow. Give a size bigger than %s.",
			Code(d.Label), a.Target, HumanSize(d.Size), FormatSize(d.Size))}
	}
	nd, err := c.ResizeDisc(ctx, a.Target, a.Label, a.SizeMiB)
	if err != nil {
		return Result{}, err
	}
	res := Result{
		Summary: fmt.Sprintf("Disc %s on %s resized from %s to %s", safe(d.Label), a.Target, HumanSize(d.Size), HumanSize(a.SizeMiB)),
		Fields:  []Field{restartNote},
	}
	if nd != nil {
		res.Discs = []bytemark.Disc{*nd}
	}
	return res, nil
}

// Run implements Runnable.
func (a DiscPurge) Run(ctx context.Context, c Cloud) (Result, error) {
	d, ds, err := findDisc(ctx, c, a.Target, a.Label)
	if err != nil {
		return Result{Discs: ds}, err
	}
	if err := c.PurgeDisc(ctx, a.Target, a.Label); err != nil {
		return Result{}, err
	}
	return Result{Summary: fmt.Sprintf("Disc %s (%s, %s) on %s purged: its data is gone for good", safe(d.Label), HumanSize(d.Size), safe(d.StorageGrade), a.Target)}, nil
}

// findDisc reads server's discs and returns the one labelled label.
func findDisc(ctx context.Context, c Cloud, server, label string) (bytemark.Disc, []bytemark.Disc, error) {
	ds, err := c.Discs(ctx, server)
	if err != nil {
		return bytemark.Disc{}, nil, err
	}
	var labels []string
	for _, d := range ds {
		if d.Label == label {
			return d, ds, nil
		}
		labels = append(labels, Code(d.Label))
	}
	msg := fmt.Sprintf("`%s` has no disc labelled `%s`", server, label)
	if len(labels) > 0 {
		msg += "; its discs are " + list(labels, "and")
	}
	return bytemark.Disc{}, ds, &UsageError{Msg: msg + "."}
}
