package commands

import (
	"context"
	"fmt"
	"strings"
)

// Check checks what Run checks before it creates anything: the image is
// one the API offers, the group exists, and no server (deleted or not) has
// the name. An approval card for a create is posted only when they hold.
func (a Create) Check(ctx context.Context, c Cloud) error {
	if a.Distribution != "" {
		if err := checkImage(ctx, c, a.Distribution); err != nil {
			return err
		}
	}
	parts := strings.SplitN(a.Target, ".", 2)
	group := ""
	if len(parts) == 2 {
		group = parts[1]
	}
	if _, err := c.GetGroup(ctx, group); err != nil {
		return groupErr(group, err)
	}
	if other, err := c.GetServer(ctx, a.Target); err == nil && other.Name == parts[0] {
		return a.taken()
	} else if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// taken is the answer to a create whose name is taken.
func (a Create) taken() *UsageError {
	return &UsageError{Msg: fmt.Sprintf("There is already a server called `%s` (a deleted one keeps its name until it is purged); choose another name.", a.Target)}
}
