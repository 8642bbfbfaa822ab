package approvals

import (
	"context"
	"errors"
	"testing"
)

// TestSubmitWithIDAndCard: a ticket can be opened under an ID chosen
// beforehand (its card posted first) and with its card recorded in the
// same write; the ID can't be taken twice.
func TestSubmitWithIDAndCard(t *testing.T) {
	s, _ := openClocked(t)
	ctx := context.Background()
	id := NewTicketID()
	r := Request{ID: id, Command: "purge web1.default.acme", RequestedBy: asker, Channel: "COPS",
		MessageChannel: "COPS", MessageTS: "123.456"}
	tk, err := s.Submit(ctx, r)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	got, err := s.Get(ctx, id)
	if err != nil || tk.ID != id || got.ID != id || got.MessageChannel != "COPS" || got.MessageTS != "123.456" || got.State != StatePending {
		t.Errorf("Submit = %+v; Get = %+v, %v; want ticket %s pending with its card", tk, got, err, id)
	}
	if _, err := s.Submit(ctx, r); !errors.Is(err, ErrExists) {
		t.Errorf("Submit with a taken ID = %v; want ErrExists", err)
	}
	if _, err := s.Submit(ctx, Request{ID: "no/good", Command: "x", RequestedBy: asker}); err == nil {
		t.Error("Submit with a malformed ID succeeded")
	}
}
