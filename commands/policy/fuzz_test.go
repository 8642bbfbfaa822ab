package policy

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/bytebot/bytebot/commands"
)

// FuzzPolicy feeds Load arbitrary files: it never panics, every error is a
// list of problems naming the file, and a policy it accepts decides every
// request without panicking. Seeds: testdata/fuzz/FuzzPolicy and the
// example policy.
func FuzzPolicy(f *testing.F) {
	if data, err := os.ReadFile("../../examples/policy.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("rules:\n  - actions: [stop]\n"))
	actions := []commands.Action{}
	for _, text := range []string{"purge web1.production.acme", "reboot web1.staging.acme cycle", "help", "list", "disc purge db1.a.b vdb"} {
		if a, err := commands.Parse(text); err == nil {
			actions = append(actions, a)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Load("f.yaml", data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("Load error %T %v; want Errors", err, err)
			}
			for _, e := range es {
				if !strings.HasPrefix(e.Error(), "f.yaml") {
					t.Fatalf("error %q doesn't name the file", e)
				}
			}
			return
		}
		for _, a := range actions {
			for _, mon := range []bool{false, true} {
				d, err := p.Decide(context.Background(), Request{Action: a, User: "U0ALICE", Channel: "C0OPS", Monitoring: mon},
					func(context.Context, string, string) (bool, error) { return true, nil })
				if err != nil {
					t.Fatalf("Decide(%s): %v", a, err)
				}
				if d.Explanation == "" {
					t.Fatalf("Decide(%s): no explanation", a)
				}
				if a.Destructive() && d.Allowed && d.Approvals < 1 {
					t.Fatalf("Decide(%s) runs an irreversible action at once", a)
				}
			}
		}
	})
}
