package redistest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestStartCluster checks that the cluster forms and that a client built as
// the bot's serves keys of every slot through it.
func TestStartCluster(t *testing.T) {
	c := SharedCluster(t)
	rdb := Open(t, c.URL())
	ctx := context.Background()
	for i := range 30 {
		k := fmt.Sprintf("%s%d", Prefix(t), i)
		if err := rdb.Set(ctx, k, i, time.Minute).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	if n := len(c.Nodes); n != 3 {
		t.Errorf("%d nodes; want 3", n)
	}
}

// TestSentinelFailover checks the set fails over: with its master killed,
// the sentinels promote the replica and a client built as the bot's writes
// to it.
func TestSentinelFailover(t *testing.T) {
	set := StartSentinel(t)
	rdb := Open(t, set.URL())
	ctx := context.Background()
	// Replication is asynchronous: WAIT (on the SET's connection) makes
	// sure the replica has the key before the master dies.
	cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "k", "before", 0)
		p.Do(ctx, "wait", 1, 5000)
		return nil
	})
	if err != nil || cmds[1].(*redis.Cmd).Val() != int64(1) {
		t.Fatalf("SET + WAIT = %v, %v; want the replica to have it", cmds, err)
	}
	start := time.Now()
	set.Master.Kill()
	set.WaitMaster(t, set.Replica)
	waitFor(t, "a write after the failover", func() bool {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return rdb.Set(c, "k2", "after", 0).Err() == nil
	}, func() string { return "" })
	t.Logf("failover took %s", time.Since(start))
	if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "before" {
		t.Errorf("GET k after the failover = %q, %v; want before", v, err)
	}
}
