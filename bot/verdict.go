package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// A verdict is how a job ends when it ends before running its action.
type verdict struct {
	outcome string // for the queue's record and the audit log
	note    string // for the approval card
	msg     string // for the channel
	failed  bool
}

// inspect reads a's server and says whether the job must end without
// running: the server or disc is gone (already purged, on a retry), or, on a
// retry, already as a would leave it. It also ends the job when the server
// can't be read.
func (e *execution) inspect(ctx context.Context, a commands.Action) (*bytemark.Server, *verdict) {
	srv, err := e.s.api.GetServer(ctx, a.Server())
	switch {
	case bytemark.IsNotFound(err) && commands.PurgesServer(a):
		if e.job.Retry {
			return nil, &verdict{"already done", ":white_check_mark: Already purged.",
				fmt.Sprintf(":white_check_mark: %s is already purged; nothing more to do.", commands.Code(a.Server())), false}
		}
		return nil, &verdict{"gone", ":grey_question: Not run: the server no longer exists.",
			fmt.Sprintf(":grey_question: %s no longer exists, so there is nothing to purge.", commands.Code(a.Server())), true}
	case err != nil:
		e.logErr("reading the server before running", err)
		return nil, &verdict{"failed", ":x: Not run: the server couldn't be read.",
			fmt.Sprintf(":x: Not running %s: %s", commands.Code(a.String()), e.cloudErrorText(a, err)), true}
	}
	if done, msg := commands.AlreadyDone(a, srv); done && e.job.Retry {
		return nil, &verdict{"already done", ":white_check_mark: " + msg, ":white_check_mark: " + msg + " Nothing more to do.", false}
	}
	if _, err := takeSnapshot(a.Server(), srv, commands.DiscOf(a)); errors.Is(err, errNoDisc) {
		if e.job.Retry {
			return nil, &verdict{"already done", ":white_check_mark: Disc already purged.",
				fmt.Sprintf(":white_check_mark: %s no longer has disc %s; nothing more to do.", commands.Code(a.Server()), commands.Code(commands.DiscOf(a))), false}
		}
		return nil, &verdict{"gone", ":grey_question: Not run: the disc no longer exists.",
			fmt.Sprintf(":grey_question: %s no longer has disc %s, so there is nothing to purge.", commands.Code(a.Server()), commands.Code(commands.DiscOf(a))), true}
	}
	return srv, nil
}

// claim records, once and for all, that a's run under key is starting. It
// ends the job if an earlier attempt already started it: that attempt was
// interrupted, and an action is never sent twice.
func (e *execution) claim(ctx context.Context, a commands.Action, key string) *verdict {
	ok, err := e.s.Store.Once(ctx, key, onceTTL)
	if err != nil {
		e.logErr("marking the action as started", err)
		return &verdict{"failed", ":x: Not run: the bot couldn't record that it was starting.",
			fmt.Sprintf(":x: Not running %s (ref %s). Try again.", commands.Code(a.String()), e.ref()), true}
	}
	if !ok {
		return &verdict{"interrupted", ":warning: An earlier attempt was interrupted; not repeated.",
			fmt.Sprintf(":warning: An earlier attempt to run %s was interrupted. It is not repeated automatically: check %s and ask again if needed.", commands.Code(a.String()), commands.Code(a.Server())), true}
	}
	return nil
}
