package reliability

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bytebot/bytebot/internal/bottest"
	"github.com/bytebot/bytebot/internal/slacktest"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bytebot-reliability")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var buildOnce = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "bytebot")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/bytebot/bytebot")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// binary builds the bot once per test binary and returns its path.
func binary(t testing.TB) string {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a child process whose output goes to a file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startProc(t testing.TB, name, logPath string, env []string, bin string, args ...string) *proc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

// kill sends SIGKILL and waits for the process to end.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// redisProc is a redis-server of the test's own, with append-only
// persistence in its own directory, that can be killed and restarted on
// the same port.
type redisProc struct {
	t        testing.TB
	port     int
	dir      string
	password string
	p        *proc
}

func startRedis(t testing.TB, password string) *redisProc {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is not installed (apt-get install redis-server); the process scenarios need it")
	}
	r := &redisProc{t: t, port: freePort(t), dir: t.TempDir(), password: password}
	r.start()
	return r
}

func (r *redisProc) start() {
	r.t.Helper()
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--loglevel", "warning"}
	if r.password != "" {
		args = append(args, "--requirepass", r.password)
	}
	r.p = startProc(r.t, "redis", filepath.Join(r.dir, "redis.log"), nil, "redis-server", args...)
	waitFor(r.t, 10*time.Second, "redis-server to answer", func() bool {
		c := r.client()
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	}, func() string { return string(readFile(r.t, filepath.Join(r.dir, "redis.log"))) })
}

// URL is the REDIS_URL of the server.
func (r *redisProc) URL() string {
	if r.password != "" {
		return fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", r.password, r.port)
	}
	return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port)
}

// client is a new client of the server; the caller closes it.
func (r *redisProc) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port), Password: r.password,
		MaxRetries: -1, DialTimeout: time.Second})
}

// kill9 kills the server with SIGKILL.
func (r *redisProc) kill9() { r.p.kill() }

// botProc is a `bytebot serve` process.
type botProc struct {
	t    testing.TB
	name string
	url  string
	env  []string
	log  string
	p    *proc
}

// botEnv is a bot's environment: the defaults every scenario uses,
// overridden by extra ("KEY=value"; "KEY=" removes KEY).
func botEnv(slack *slackAPI, fake *fakeAPI, rds *redisProc, prefix string, extra ...string) map[string]string {
	env := map[string]string{
		"SLACK_SIGNING_SECRET": "reliability-signing-secret",
		"SLACK_BOT_TOKEN":      slack.Token(),
		"SLACK_API_URL":        slack.URL(),
		"SLACK_CHANNEL":        bottest.ChanOps,
		"BYTEMARK_API_URL":     fake.URL(),
		"BYTEMARK_AUTH_URL":    fake.URL(),
		"BYTEMARK_API_KEY":     "demo0d3f4c7e9a2b5d8c1e6f",
		"BYTEMARK_ACCOUNT":     "acme",
		"REDIS_PREFIX":         prefix,
		"APPROVERS":            bottest.UserAppr1 + "," + bottest.UserAppr2,
		"WEBHOOK_TOKEN":        "reliability-webhook-token",
		"AUTO_REBOOT":          "on",
		"REBOOT_METHOD":        "reset",
		"LOG_FORMAT":           "json",
		"LOG_LEVEL":            "debug",
		"SHUTDOWN_TIMEOUT":     "2s",
		// The scenarios before issue 17 purge at once; the staged ones
		// (staged_test.go) set their grace.
		"PURGE_GRACE": "0s",
	}
	if rds != nil { // else REDIS_URL comes in extra
		env["REDIS_URL"] = rds.URL()
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	return env
}

// startBot starts `bytebot serve` with env (LISTEN_ADDR is added) and waits
// until /readyz answers 200.
func startBot(t testing.TB, name string, env map[string]string) *botProc {
	t.Helper()
	port := freePort(t)
	env["LISTEN_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
	if env["METRICS_ADDR"] == "" { // not the default :9091: bots run side by side
		env["METRICS_ADDR"] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	}
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	b := &botProc{t: t, name: name, url: fmt.Sprintf("http://127.0.0.1:%d", port), env: list,
		log: filepath.Join(t.TempDir(), name+".log")}
	b.start()
	return b
}

func (b *botProc) start() {
	b.t.Helper()
	b.p = startProc(b.t, b.name, b.log, b.env, binary(b.t), "serve")
	waitFor(b.t, 20*time.Second, b.name+" to be ready", func() bool {
		if b.p.exited() {
			b.t.Fatalf("%s exited:\n%s", b.name, b.logText())
		}
		return b.get("/readyz") == http.StatusOK
	}, b.logText)
}

// metricsURL is the base URL of the bot's METRICS_ADDR.
func (b *botProc) metricsURL() string {
	for _, kv := range b.env {
		if addr, ok := strings.CutPrefix(kv, "METRICS_ADDR="); ok {
			return "http://" + addr
		}
	}
	return ""
}

// logText is everything the bot wrote to stdout and stderr.
func (b *botProc) logText() string {
	data, _ := os.ReadFile(b.log)
	return string(data)
}

// logLines is the bot's output, line by line.
func (b *botProc) logLines() []string {
	f, err := os.Open(b.log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// get GETs path and returns the status (0 if the request failed).
func (b *botProc) get(path string) int {
	resp, err := httpClient.Get(b.url + path)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// do sends r and returns the status and body (status 0 if it failed).
func do(r *http.Request) (int, []byte) {
	resp, err := httpClient.Do(r)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// slash sends a signed slash command to the bot.
func (b *botProc) slash(secret, user, channel, text string) (int, []byte) {
	return do(signedRequest(b.url, secret, "/slack/commands", slashBody(user, channel, text), time.Now()))
}

// click sends a signed click on card c; an Approve that opens the
// type-the-name modal is answered with the server's name (sendClick).
func (b *botProc) click(secret, user, channel string, c card, action string) (int, []byte) {
	return sendClick(b.slack(), func(body []byte) (int, []byte) { return b.interact(secret, body) }, user, channel, c, action)
}

// interact sends a signed interaction body (a click, a view_submission).
func (b *botProc) interact(secret string, body []byte) (int, []byte) {
	return do(signedRequest(b.url, secret, "/slack/interactions", body, time.Now()))
}

// slack is the Slack stand-in the bot talks to (its SLACK_API_URL), or nil.
func (b *botProc) slack() *slackAPI {
	for _, kv := range b.env {
		if u, ok := strings.CutPrefix(kv, "SLACK_API_URL="); ok {
			if api, ok := slackAPIs.Load(u); ok {
				return api.(*slackAPI)
			}
		}
	}
	return nil
}

// hook sends an Alertmanager delivery with the bearer token.
func (b *botProc) hook(token string, body []byte) (int, []byte) {
	return do(slacktest.HookRequest(b.url+"/hooks/alertmanager", token, body))
}
