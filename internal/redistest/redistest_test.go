package redistest

import (
	"context"
	"strings"
	"testing"
)

func TestPrefixIsolatesAndCleansUp(t *testing.T) {
	c := Client(t)
	ctx := context.Background()
	var p1, p2 string
	t.Run("write", func(t *testing.T) {
		p1, p2 = Prefix(t), Prefix(t)
		if p1 == p2 || !strings.HasPrefix(p1, "test:") {
			t.Fatalf("Prefix() = %q, %q; want two distinct test: prefixes", p1, p2)
		}
		if err := c.Set(ctx, p1+"k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	})
	if n, err := c.Exists(ctx, p1+"k").Result(); err != nil || n != 0 {
		t.Errorf("key under %q survived its test: exists=%d err=%v", p1, n, err)
	}
}

// TestStart checks the fallback a fresh machine takes: a redis-server of the
// tests' own, on a free port.
func TestStart(t *testing.T) {
	u, err := start()
	if err != nil {
		t.Fatalf("start() error: %v", err)
	}
	if err := ping(u); err != nil {
		t.Errorf("ping(%q) after start: %v", u, err)
	}
}
