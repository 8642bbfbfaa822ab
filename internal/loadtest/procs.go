package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A proc is a child process of the harness: the bot, the floor or the fake
// Bytemark. Its output goes to a log file in the run's directory.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// startProc starts bin with args and exactly env (plus PATH and HOME), its
// stdout and stderr going to dir/name.log. The child dies with the harness.
func startProc(name, dir, bin string, env []string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout, cmd.Stderr = f, f
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process: SIGTERM, then SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// tail returns the last n bytes of the process's log, for error messages.
func (p *proc) tail(n int) string {
	b, _ := os.ReadFile(p.log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady polls GET base/readyz every 2 ms until it answers 200 and
// returns how long that took from start.
func waitReady(ctx context.Context, p *proc, base string, start time.Time, limit time.Duration) (time.Duration, error) {
	client := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := start.Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		if p.exited() {
			return 0, fmt.Errorf("%s exited before it was ready: %v\n%s", p.name, p.err, p.tail(2000))
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s not ready after %s\n%s", p.name, limit, p.tail(2000))
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

var (
	fakeURLRe = regexp.MustCompile(`serving on (http://\S+)`)
	fakeKeyRe = regexp.MustCompile(`API key:\s*(\S+)`)
)

// startFake starts `bytebot fake-bytemark --listen 127.0.0.1:0` and reads
// its base URL and API key from what it prints.
func startFake(ctx context.Context, dir, bin string) (p *proc, base, key string, err error) {
	p, err = startProc("fake-bytemark", dir, bin, nil, "fake-bytemark", "--listen", "127.0.0.1:0")
	if err != nil {
		return nil, "", "", err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		out, _ := os.ReadFile(p.log)
		u, k := fakeURLRe.FindSubmatch(out), fakeKeyRe.FindSubmatch(out)
		if u != nil && k != nil {
			return p, string(u[1]), string(k[1]), nil
		}
		if p.exited() {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.stop(time.Second)
	return nil, "", "", fmt.Errorf("fake-bytemark printed no URL and API key:\n%s", p.tail(2000))
}

// memory is a process's resident set, from /proc/PID/status.
type memory struct {
	RSS  int64 // VmRSS, bytes
	Peak int64 // VmHWM, bytes: the most it has ever had
}

// readMemory reads pid's VmRSS and VmHWM (Linux only; zeros elsewhere).
func readMemory(pid int) memory {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return memory{}
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		var dst *int64
		switch {
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			dst = &m.RSS
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			dst = &m.Peak
		default:
			continue
		}
		fs := strings.Fields(string(line))
		if len(fs) >= 2 {
			kb, _ := strconv.ParseInt(fs[1], 10, 64)
			*dst = kb * 1024
		}
	}
	return m
}

// rssWatch samples a process's VmRSS every 20 ms until stopped and keeps
// the largest value seen.
type rssWatch struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	max   int64
}

func watchRSS(pid int) *rssWatch {
	w := &rssWatch{stopc: make(chan struct{})}
	w.wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if m := readMemory(pid); m.RSS > w.max {
				w.max = m.RSS
			}
			select {
			case <-w.stopc:
				return
			case <-t.C:
			}
		}
	})
	return w
}

// stop ends the sampling and returns the largest VmRSS seen.
func (w *rssWatch) stop() int64 {
	close(w.stopc)
	w.wg.Wait()
	return w.max
}

// moduleRoot finds the directory of go.mod from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod here or above; run from the repository")
		}
		dir = parent
	}
}

// goBuild builds pkg (relative to root) into out.
func goBuild(ctx context.Context, root, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// cpuTime is the CPU time (user and system) pid has used so far (Linux
// only; zero elsewhere).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on every Linux platform Go supports
	return time.Duration(ut+st) * time.Second / hz
}

// cpuMeter measures the CPU time a set of processes use between two points.
// Besides the named processes it measures "others": the CPU time the rest
// of the machine used meanwhile.
type cpuMeter struct {
	pids  map[string]int
	start map[string]time.Duration
	busy  time.Duration
}

// others names the rest of the machine in a cpuMeter's figures.
const others = "others"

func meterCPU(pids map[string]int) *cpuMeter {
	m := &cpuMeter{pids: pids, start: map[string]time.Duration{}, busy: machineBusy()}
	for name, pid := range pids {
		m.start[name] = cpuTime(pid)
	}
	return m
}

// used returns the CPU time each process used since meterCPU, and under
// "others" what the rest of the machine used.
func (m *cpuMeter) used() map[string]time.Duration {
	out := map[string]time.Duration{}
	var ours time.Duration
	for name, pid := range m.pids {
		out[name] = cpuTime(pid) - m.start[name]
		ours += out[name]
	}
	if m.busy > 0 {
		out[others] = max(0, machineBusy()-m.busy-ours)
	}
	return out
}

// machineBusy is the CPU time all CPUs of the machine have spent busy
// (everything but idle and iowait), from /proc/stat; zero elsewhere.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	// user nice system idle iowait irq softirq steal (guest is in user)
	for i, v := range f[1:min(len(f), 9)] {
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	const hz = 100
	return time.Duration(busy) * time.Second / hz
}

// logSummary counts the lines of a JSON slog log by level and message,
// most frequent first, e.g. "132× ERROR deciding on an alert".
func logSummary(path string, limit int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Level == "" {
			continue
		}
		counts[line.Level+" "+line.Msg]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return counts[keys[i]] > counts[keys[j]] || counts[keys[i]] == counts[keys[j]] && keys[i] < keys[j]
	})
	var out []string
	for _, k := range keys[:min(len(keys), limit)] {
		out = append(out, fmt.Sprintf("%d× %s", counts[k], k))
	}
	return out
}
