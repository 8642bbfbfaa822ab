package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// cloudErrorText explains err from running a, for people.
func (e *execution) cloudErrorText(a commands.Action, err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("it took too long (ref %s).", e.ref())
	}
	var usage *commands.UsageError
	if errors.As(err, &usage) {
		return usage.Msg // says what was searched, and what was probably meant
	}
	if bytemark.IsNotFound(err) && a.Server() != "" {
		return fmt.Sprintf("I can't find server %s.", commands.Code(a.Server()))
	}
	return slackui.ErrorText(err, e.ref())
}

// logErr logs err at the level it deserves (errLevel), with what lies
// under a message for people (the API's own words) as "cause".
func (e *execution) logErr(msg string, err error, args ...any) {
	args = append([]any{"err", err}, args...)
	var usage *commands.UsageError
	if errors.As(err, &usage) && usage.Unwrap() != nil {
		args = append(args, "cause", usage.Unwrap())
	}
	e.log.Log(context.Background(), errLevel(err), msg, args...)
}

// errLevel is the log level of err: a person's mistake (an unknown server,
// a bad size, a disc label in use: a usage error) is INFO; Bytemark
// refusing a request as it stands (400, 404) is WARN; anything else is a
// fault of the bot or of Bytemark, and ERROR.
func errLevel(err error) slog.Level {
	var usage *commands.UsageError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return slog.LevelError
	case errors.As(err, &usage):
		return slog.LevelInfo
	case bytemark.IsNotFound(err), bytemark.IsBadRequest(err):
		return slog.LevelWarn
	}
	return slog.LevelError
}
