package redistest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The topologies below are real: Debian's redis-server and redis-sentinel
// on loopback, on free ports, in temporary directories. Every process is a
// child that the kernel kills when the test binary exits (and that the
// test's cleanup kills before that). Waits are for positive signals
// (PING, CLUSTER INFO, SENTINEL MASTER), each with a deadline.

// topologyWait bounds every wait for a topology to form or fail over. It is
// generous for a loaded machine; a healthy one takes a few seconds.
const topologyWait = 60 * time.Second

// A Server is one redis-server or redis-sentinel process of a topology.
type Server struct {
	tb   testing.TB
	Port int
	Dir  string
	bin  string
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Client is a plain client of this one server (no cluster or sentinel
// logic), for setting a topology up and looking at it; the caller closes it.
func (s *Server) Client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: time.Second})
}

// Log is what the server wrote to its log file.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "server.log"))
	return string(b)
}

func startServer(tb testing.TB, bin string, port int, dir string, args ...string) *Server {
	tb.Helper()
	s := &Server{tb: tb, Port: port, Dir: dir, bin: bin, args: args}
	s.Start()
	tb.Cleanup(s.Kill)
	return s
}

// Start starts the server (again, after Kill: same port, directory and
// arguments) and waits until it answers PING.
func (s *Server) Start() {
	s.tb.Helper()
	s.mu.Lock()
	if s.done != nil {
		select {
		case <-s.done:
		default:
			s.mu.Unlock()
			s.tb.Fatalf("redistest: %s is already running", s.Addr())
		}
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.mu.Unlock()
		s.tb.Fatal(err)
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = f, f
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		s.mu.Unlock()
		s.tb.Fatalf("redistest: starting %s: %v", s.bin, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	c := s.Client()
	defer c.Close()
	s.waitFor("to answer PING", func() bool {
		select {
		case <-done:
			s.tb.Fatalf("redistest: %s %v exited:\n%s", s.bin, s.args, s.Log())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	})
}

// Kill kills the server with SIGKILL and waits for it to be gone.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Pause stops the server (SIGSTOP) until the function it returns is
// called (SIGCONT), or the test ends: a replica that falls behind.
func (s *Server) Pause() (resume func()) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	cmd.Process.Signal(syscall.SIGSTOP)
	var once sync.Once
	resume = func() { once.Do(func() { cmd.Process.Signal(syscall.SIGCONT) }) }
	s.tb.Cleanup(resume)
	return resume
}

// waitFor polls ok until it holds or topologyWait passes.
func (s *Server) waitFor(what string, ok func() bool) {
	s.tb.Helper()
	waitFor(s.tb, s.Addr()+" "+what, ok, s.Log)
}

func waitFor(tb testing.TB, what string, ok func() bool, dump func() string) {
	tb.Helper()
	deadline := time.Now().Add(topologyWait)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("redistest: timed out waiting for %s\n%s", what, dump())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// freePorts returns n distinct ports that were free a moment ago, each
// with port+10000 free too (a cluster node's bus port).
func freePorts(tb testing.TB, n int) []int {
	tb.Helper()
	var ports []int
	seen := map[int]bool{}
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			tb.Fatal("redistest: no free ports")
		}
		p := 20000 + rand.IntN(25000)
		if seen[p] || seen[p+10000] || !portFree(p) || !portFree(p+10000) {
			continue
		}
		seen[p], seen[p+10000] = true, true
		ports = append(ports, p)
	}
	return ports
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func lookPath(tb testing.TB, bin string) string {
	tb.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		tb.Fatalf("redistest: %s is not installed (on Debian: apt-get install redis-server redis-sentinel)", bin)
	}
	return p
}

// A ClusterSet is a Redis Cluster of masters without replicas.
type ClusterSet struct {
	Nodes []*Server
}

// StartCluster starts a Redis Cluster of masters nodes (3 or more) on
// loopback, with append-only persistence so that a node can be killed and
// restarted, and waits until every node reports the cluster ok.
func StartCluster(tb testing.TB, masters int) *ClusterSet {
	tb.Helper()
	bin := lookPath(tb, "redis-server")
	cli := lookPath(tb, "redis-cli")
	c := &ClusterSet{}
	var addrs []string
	for _, p := range freePorts(tb, masters) {
		s := startServer(tb, bin, p, tb.TempDir(), "--port", strconv.Itoa(p), "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
			"--appendonly", "yes", "--save", "", "--loglevel", "warning", "--logfile", "server.log")
		c.Nodes = append(c.Nodes, s)
		addrs = append(addrs, s.Addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		tb.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitOK(tb)
	return c
}

// URL is the cluster's REDIS_URL.
func (c *ClusterSet) URL() string {
	var addrs []string
	for _, n := range c.Nodes {
		addrs = append(addrs, n.Addr())
	}
	return "redis+cluster://" + strings.Join(addrs, ",")
}

// WaitOK waits until every node says cluster_state:ok and knows every
// other node as connected.
func (c *ClusterSet) WaitOK(tb testing.TB) {
	tb.Helper()
	for _, n := range c.Nodes {
		rdb := n.Client()
		n.waitFor("to see the cluster ok", func() bool {
			info, err := rdb.ClusterInfo(context.Background()).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
			nodes, err := rdb.ClusterNodes(context.Background()).Result()
			return err == nil && strings.Count(nodes, " connected") == len(c.Nodes) && !strings.Contains(nodes, "fail")
		})
		rdb.Close()
	}
}

// NodeFor returns the node that serves key's slot.
func (c *ClusterSet) NodeFor(tb testing.TB, key string) *Server {
	tb.Helper()
	rdb := c.Nodes[0].Client()
	defer rdb.Close()
	ctx := context.Background()
	slot, err := rdb.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		tb.Fatal(err)
	}
	slots, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
			for _, n := range c.Nodes {
				if n.Addr() == s.Nodes[0].Addr {
					return n
				}
			}
		}
	}
	tb.Fatalf("redistest: no node serves slot %d", slot)
	return nil
}

// A SentinelSet is a master, its replica and three sentinels watching it.
type SentinelSet struct {
	Name      string
	Master    *Server
	Replica   *Server
	Sentinels []*Server
}

// StartSentinel starts a master, a replica of it and three sentinels
// (quorum 2, down after 1s) on loopback, and waits until the replica is in
// sync and every sentinel knows the replica and the other two sentinels,
// so that a failover can happen.
func StartSentinel(tb testing.TB) *SentinelSet {
	tb.Helper()
	bin := lookPath(tb, "redis-server")
	sbin := lookPath(tb, "redis-sentinel")
	ports := freePorts(tb, 5)
	set := &SentinelSet{Name: "bytebot"}
	node := func(port int, extra ...string) *Server {
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--loglevel", "warning", "--logfile", "server.log", "--repl-diskless-sync-delay", "0"}, extra...)
		return startServer(tb, bin, port, tb.TempDir(), args...)
	}
	set.Master = node(ports[0])
	set.Replica = node(ports[1], "--replicaof", "127.0.0.1", strconv.Itoa(ports[0]))
	rc := set.Replica.Client()
	set.Replica.waitFor("to sync with its master", func() bool {
		info, err := rc.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	rc.Close()
	// Each sentinel is told its own ID, the replica and the other
	// sentinels, so that it need not discover them (which takes seconds).
	ids := make([]string, 3)
	for i := range ids {
		ids[i] = fmt.Sprintf("%040x", rand.Uint64())
	}
	for i, p := range ports[2:] {
		dir := tb.TempDir()
		conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile server.log\nsentinel myid %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds %[4]s 1000\n"+
			"sentinel failover-timeout %[4]s 10000\n"+
			"sentinel parallel-syncs %[4]s 1\n"+
			"sentinel known-replica %[4]s 127.0.0.1 %[6]d\n", p, dir, ids[i], set.Name, ports[0], ports[1])
		for j, q := range ports[2:] {
			if j != i {
				conf += fmt.Sprintf("sentinel known-sentinel %s 127.0.0.1 %d %s\n", set.Name, q, ids[j])
			}
		}
		path := filepath.Join(dir, "sentinel.conf")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			tb.Fatal(err)
		}
		set.Sentinels = append(set.Sentinels, startServer(tb, sbin, p, dir, path))
	}
	for _, s := range set.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
		s.waitFor("to know the replica and the other sentinels", func() bool {
			m, err := sc.Master(context.Background(), set.Name).Result()
			return err == nil && m["num-slaves"] == "1" && m["num-other-sentinels"] == strconv.Itoa(len(set.Sentinels)-1)
		})
		sc.Close()
	}
	return set
}

// URL is the set's REDIS_URL.
func (set *SentinelSet) URL() string {
	var addrs []string
	for _, s := range set.Sentinels {
		addrs = append(addrs, s.Addr())
	}
	return "redis+sentinel://" + strings.Join(addrs, ",") + "/" + set.Name
}

// MasterAddr is the master's address as every sentinel reports it, or ""
// while they disagree (or one does not answer).
func (set *SentinelSet) MasterAddr() string {
	addr := ""
	for _, s := range set.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
		a, err := sc.GetMasterAddrByName(context.Background(), set.Name).Result()
		sc.Close()
		if err != nil || len(a) != 2 {
			return ""
		}
		got := net.JoinHostPort(a[0], a[1])
		if addr != "" && got != addr {
			return ""
		}
		addr = got
	}
	return addr
}

// WaitMaster waits until every sentinel reports want as the master.
func (set *SentinelSet) WaitMaster(tb testing.TB, want *Server) {
	tb.Helper()
	waitFor(tb, "the sentinels to report "+want.Addr()+" as master", func() bool {
		return set.MasterAddr() == want.Addr()
	}, func() string {
		var b strings.Builder
		for _, s := range set.Sentinels {
			fmt.Fprintf(&b, "--- sentinel %s\n%s\n", s.Addr(), s.Log())
		}
		return b.String()
	})
}

var (
	sharedCluster  *ClusterSet
	sharedSentinel *SentinelSet
	sharedMu       sync.Mutex
)

// SharedCluster is a 3-master cluster shared by the tests of this binary
// that do not kill its nodes; started on first use, it lives as long as the
// binary. Tests share it with prefixes of their own (Prefix).
func SharedCluster(tb testing.TB) *ClusterSet {
	tb.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedCluster == nil {
		sharedCluster = StartCluster(binaryLifetime{tb}, 3)
	}
	return sharedCluster
}

// SharedSentinel is SharedCluster for a Sentinel set; tests that fail the
// master over start their own (StartSentinel).
func SharedSentinel(tb testing.TB) *SentinelSet {
	tb.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedSentinel == nil {
		sharedSentinel = StartSentinel(binaryLifetime{tb})
	}
	return sharedSentinel
}

// binaryLifetime is tb whose cleanups and temporary directories outlive
// the test: the processes started under it die with the test binary.
type binaryLifetime struct{ testing.TB }

func (binaryLifetime) Cleanup(func()) {}

func (b binaryLifetime) TempDir() string {
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		b.Fatal(err)
	}
	return dir
}
