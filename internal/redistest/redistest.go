// Package redistest gives tests a real Redis server: $REDIS_URL when set,
// else the one on 127.0.0.1:6379 when it answers, else a redis-server that
// this package starts for the test binary (and that dies with it).
//
// A test that needs Redis and cannot get one fails loudly; it never skips.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/internal/redisconn"
)

var url = sync.OnceValues(findOrStart)

// URL returns the address of a Redis server for tests, or fails the test.
func URL(tb testing.TB) string {
	tb.Helper()
	u, err := url()
	if err != nil {
		tb.Fatalf("redistest: no Redis for the tests: %v\n"+
			"Start one (redis-server --port 6379) or set REDIS_URL; on Debian: apt-get install redis-server", err)
	}
	return u
}

// Client returns a client of the test Redis, closed when the test ends,
// built as the bot builds its own (redisconn).
func Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c, ok := Open(tb, URL(tb)).(*redis.Client)
	if !ok {
		tb.Fatalf("redistest: the test Redis is not a single node")
	}
	return c
}

// Open returns a client of the Redis at url (any REDIS_URL form: a single
// node, redis+sentinel://, redis+cluster://), built exactly as the bot
// builds its own, and closed when the test ends.
func Open(tb testing.TB, url string) redis.UniversalClient {
	tb.Helper()
	c, _, err := redisconn.Open(url)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a key prefix unique to this test, and deletes every key
// under it when the test ends, so that tests and packages never collide.
// The keys deleted are those that start with the prefix, or with it made a
// hash tag as approvals.KeyPrefix does ("{test:…}:").
func Prefix(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "test:" + hex.EncodeToString(b) + ":"
	c := Client(tb)
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, "*"+strings.TrimSuffix(prefix, ":")+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Unlink(ctx, iter.Val())
		}
	})
	return prefix
}

func findOrStart() (string, error) {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u, ping(u)
	}
	const local = "redis://127.0.0.1:6379/0"
	if ping(local) == nil {
		return local, nil
	}
	return start()
}

func ping(u string) error {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return err
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// start runs redis-server on a free port, without persistence, as a child
// that the kernel kills when the test binary exits.
func start() (string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("nothing answers on 127.0.0.1:6379 and redis-server is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	u := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err = ping(u); err == nil {
			return u, nil
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			return "", fmt.Errorf("started redis-server on port %d but it never answered: %w", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
