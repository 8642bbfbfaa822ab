package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The figures issue 8 asks the bot to show.
const (
	ackRatioMax     = 2.0                    // slash ack p99 ≤ 2× the floor's at 1,000 req/s
	ackRate         = 1000.0                 //
	ackAbsMax       = 10 * time.Millisecond  // … and < 10 ms
	kneeP99         = 50 * time.Millisecond  // the sweep's knee: p99 passes 50 ms
	kneeMin         = 2000.0                 // ≥ 2,000 acknowledged slash commands/s below the knee
	clickRate       = 500.0                  // Approve clicks/s
	clickP99Max     = 10 * time.Millisecond  //
	alert100P99Max  = 50 * time.Millisecond  // 100-alert delivery p99 …
	alert100Rate    = 10.0                   // … at 10 deliveries/s (1,000 alerts/s; the issue names no rate)
	idleRSSMax      = 30 << 20               // bytes
	loadRSSMax      = 80 << 20               // bytes
	readyMax        = 200 * time.Millisecond // start to /readyz 200
	throughputShort = 0.95                   // a run that completes less than this share of its rate is past the knee
	noisyShare      = 0.10                   // other processes using more of the machine than this make a run unreliable
)

type report struct {
	Started time.Time     `json:"started"`
	Options reportOptions `json:"options"`
	Machine machine       `json:"machine"`
	Floor   procFigures   `json:"floor"`
	Bot     procFigures   `json:"bot"`
	BotEnv  []string      `json:"bot_env,omitempty"`
	Steps   []*stepResult `json:"steps"`
	// Knee is the highest slash-command rate of the sweep at which p99
	// stayed within 50 ms with no errors and full throughput.
	Knee       float64        `json:"knee_per_s"`
	SlackCalls map[string]int `json:"slack_calls,omitempty"`
	// Ephemerals are the first few ephemeral messages the bot posted
	// (explanations of refused votes, errors): none are expected.
	Ephemerals []string `json:"ephemerals,omitempty"`
	// BotLog counts the bot's log lines (LOG_LEVEL and up) by level, message.
	BotLog      []string      `json:"bot_log,omitempty"`
	Targets     []target      `json:"targets"`
	Approvals   *approvalCost `json:"approvals,omitempty"`    // perf.go
	FakeLatency *stats        `json:"fake_latency,omitempty"` // the fake Bytemark's own (perf.go)
}

type reportOptions struct {
	Duration    string    `json:"duration"`
	Rates       []float64 `json:"rates"`
	Alert100    []float64 `json:"alert100_rates"`
	Concurrency int       `json:"concurrency"`
	AutoReboot  string    `json:"auto_reboot"`
	LogLevel    string    `json:"log_level"`
	Workers     int       `json:"workers,omitempty"`
	Quick       bool      `json:"quick"`
}

type machine struct {
	CPUs   int    `json:"cpus"`
	CPU    string `json:"cpu"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	Redis  string `json:"redis"`
	// LoadAvg is /proc/loadavg's 1-minute figure at the start and the end:
	// above the CPU count, other work shared the machine.
	LoadAvg [2]string `json:"loadavg_start_end"`
}

type procFigures struct {
	Ready   time.Duration `json:"ready_ns"`       // start to /readyz 200
	IdleRSS int64         `json:"idle_rss_bytes"` // VmRSS once ready, before any load
	PeakRSS int64         `json:"peak_rss_bytes"` // VmHWM at the end
	LoadRSS int64         `json:"load_rss_bytes"` // the largest VmRSS sampled during the runs it sustained
}

// A stepResult is one scenario at one rate: the floor's run and the bot's.
type stepResult struct {
	Scenario string  `json:"scenario"`
	Rate     float64 `json:"rate_per_s"`
	Floor    stats   `json:"floor"`
	Bot      *stats  `json:"bot,omitempty"`
	FloorRSS int64   `json:"floor_max_rss_bytes"`
	BotRSS   int64   `json:"bot_max_rss_bytes,omitempty"`
	// Drain is how long after its run the bot's executor last called
	// Slack (finishing the work queued); Drained is false if it had not
	// stopped by the -drain limit.
	Drain      time.Duration  `json:"drain_ns,omitempty"`
	Drained    bool           `json:"drained,omitempty"`
	SlackCalls map[string]int `json:"slack_calls,omitempty"`
	Note       string         `json:"note,omitempty"`
	// CPU time used by each process: during the floor's run; during the
	// bot's run; and during the bot's run and its drain.
	FloorCPU  map[string]time.Duration `json:"floor_cpu_ns,omitempty"`
	BotCPURun map[string]time.Duration `json:"bot_cpu_run_ns,omitempty"`
	BotCPU    map[string]time.Duration `json:"bot_cpu_ns,omitempty"`
	// EndToEnd and RedisTrips: perf.go.
	EndToEnd   *stats `json:"end_to_end,omitempty"`
	RedisTrips *int64 `json:"redis_round_trips,omitempty"`
}

type target struct {
	Name     string `json:"name"`
	Measured bool   `json:"measured"`
	Pass     bool   `json:"pass"`
	Detail   string `json:"detail"`
}

func newReport(o options) *report {
	return &report{
		Started: time.Now().UTC(),
		Options: reportOptions{Duration: o.Duration.String(), Rates: o.Rates, Alert100: o.Alert100, Concurrency: o.Concurrency,
			AutoReboot: o.AutoReboot, LogLevel: o.LogLevel, Workers: o.Workers, Quick: o.Quick},
		Machine: machine{CPUs: runtime.NumCPU(), CPU: cpuModel(), Kernel: kernel(), Go: runtime.Version(), Redis: "not used",
			LoadAvg: [2]string{loadAvg(), ""}},
	}
}

func (r *report) stepCount() int { return len(r.Steps) }

// withinKnee reports whether a run kept p99 within 50 ms, without errors,
// and completed (nearly) all it was offered.
func (s *stats) withinKnee(rate float64) bool {
	return s != nil && s.Errors == 0 && s.P99 <= kneeP99 && s.Throughput >= throughputShort*rate
}

// find returns the step of scenario at rate, or nil.
func (r *report) find(scenario string, rate float64) *stepResult {
	for _, s := range r.Steps {
		if s.Scenario == scenario && s.Rate == rate {
			return s
		}
	}
	return nil
}

// finish computes the knee and judges the targets.
func (r *report) finish() {
	r.Machine.LoadAvg[1] = loadAvg()
	// LoadRSS is the most the bot held during the runs it sustained
	// (within the knee); PeakRSS also counts the runs past it.
	var sampled int64
	for _, s := range r.Steps {
		sampled = max(sampled, s.BotRSS)
		if s.Bot.withinKnee(s.Rate) {
			r.Bot.LoadRSS = max(r.Bot.LoadRSS, s.BotRSS)
		}
		r.Floor.LoadRSS = max(r.Floor.LoadRSS, s.FloorRSS)
	}
	// VmHWM is updated lazily by the kernel; a sample can be above it.
	r.Floor.PeakRSS = max(r.Floor.PeakRSS, r.Floor.LoadRSS)
	r.Bot.PeakRSS = max(r.Bot.PeakRSS, sampled)
	var sweep []*stepResult
	for _, s := range r.Steps {
		if s.Scenario == "show web1" && s.Bot != nil {
			sweep = append(sweep, s)
		}
	}
	sort.Slice(sweep, func(i, j int) bool { return sweep[i].Rate < sweep[j].Rate })
	for _, s := range sweep {
		if !s.Bot.withinKnee(s.Rate) {
			break
		}
		r.Knee = s.Rate
	}
	r.Targets = nil
	add := func(t target) { r.Targets = append(r.Targets, t) }
	noBot := len(sweep) == 0

	for _, sc := range []string{"show web1", "purge web1"} {
		t := target{Name: fmt.Sprintf("slash-command ack (%s) at %g/s: p99 ≤ %g× floor p99 and < %s, no errors", sc, ackRate, ackRatioMax, ackAbsMax)}
		if s := r.find(sc, ackRate); s != nil && s.Bot != nil {
			ratio := ratioOf(s.Bot.P99, s.Floor.P99)
			t.Measured = true
			t.Pass = ratio <= ackRatioMax && s.Bot.P99 < ackAbsMax && s.Bot.Errors == 0
			t.Detail = fmt.Sprintf("p99 %s ms = %.2f× floor p99 %s ms, %d errors", ms(s.Bot.P99), ratio, ms(s.Floor.P99), s.Bot.Errors)
		}
		add(t)
	}
	{
		t := target{Name: fmt.Sprintf("≥ %g acknowledged slash commands/s before p99 passes %s", kneeMin, kneeP99)}
		if !noBot {
			t.Measured = true
			t.Pass = r.Knee >= kneeMin
			last := sweep[len(sweep)-1]
			t.Detail = fmt.Sprintf("knee at %g/s (highest rate with p99 ≤ 50 ms, no errors, ≥ %.0f%% throughput)", r.Knee, throughputShort*100)
			if last.Bot.withinKnee(last.Rate) {
				t.Detail += fmt.Sprintf("; the sweep ended at %g/s without passing it", last.Rate)
			} else {
				t.Detail += fmt.Sprintf("; at %g/s: p99 %s ms, %.0f/s, %d errors", last.Rate, ms(last.Bot.P99), last.Bot.Throughput, last.Bot.Errors)
			}
		}
		add(t)
	}
	{
		t := target{Name: fmt.Sprintf("Approve click p99 < %s at %g clicks/s, no errors", clickP99Max, clickRate)}
		if s := r.find("approve click", clickRate); s != nil && s.Bot != nil {
			t.Measured = true
			t.Pass = s.Bot.P99 < clickP99Max && s.Bot.Errors == 0
			t.Detail = fmt.Sprintf("p99 %s ms (%.2f× floor), %d errors, %d clicks", ms(s.Bot.P99), ratioOf(s.Bot.P99, s.Floor.P99), s.Bot.Errors, s.Bot.N)
		}
		add(t)
	}
	{
		t := target{Name: fmt.Sprintf("Alertmanager 100-alert delivery p99 < %s at %g deliveries/s, no errors", alert100P99Max, alert100Rate)}
		if s := r.find("alertmanager 100 alerts", alert100Rate); s != nil && s.Bot != nil {
			t.Measured = true
			t.Pass = s.Bot.P99 < alert100P99Max && s.Bot.Errors == 0
			t.Detail = fmt.Sprintf("p99 %s ms (%.2f× floor), %d errors", ms(s.Bot.P99), ratioOf(s.Bot.P99, s.Floor.P99), s.Bot.Errors)
			var knee float64
			for _, s := range r.Steps {
				if s.Scenario == "alertmanager 100 alerts" && s.Bot.withinKnee(s.Rate) && s.Rate > knee {
					knee = s.Rate
				}
			}
			t.Detail += fmt.Sprintf("; highest rate of the sweep within p99 50 ms, no errors: %g deliveries/s", knee)
		}
		add(t)
	}
	if !noBot {
		add(target{Name: "idle RSS < 30 MB", Measured: true, Pass: r.Bot.IdleRSS < idleRSSMax, Detail: mb(r.Bot.IdleRSS) + " MB"})
		add(target{Name: "RSS under load < 80 MB (the runs the bot sustained: p99 ≤ 50 ms, no errors)", Measured: true, Pass: r.Bot.LoadRSS < loadRSSMax,
			Detail: fmt.Sprintf("largest sampled %s MB; peak over all runs, past the knees included (VmHWM) %s MB", mb(r.Bot.LoadRSS), mb(r.Bot.PeakRSS))})
		add(target{Name: "start to /readyz 200 < 200 ms (fake Bytemark login included)", Measured: true, Pass: r.Bot.Ready < readyMax,
			Detail: ms(r.Bot.Ready) + " ms"})
	}
}

// othersShare is the share of the machine's CPU capacity that processes
// other than the harness's used during a run.
func (r *report) othersShare(cpu map[string]time.Duration, st *stats) float64 {
	if st == nil || st.Elapsed <= 0 || r.Machine.CPUs == 0 {
		return 0
	}
	return float64(cpu[others]) / (float64(st.Elapsed) * float64(r.Machine.CPUs))
}

// noisy reports whether other work shared the machine during the step.
func (r *report) noisy(s *stepResult) bool {
	return r.othersShare(s.FloorCPU, &s.Floor) > noisyShare || r.othersShare(s.BotCPURun, s.Bot) > noisyShare
}

// wiringErrors fails the run when the bot answered errors at the lowest
// rate of a scenario: that is a broken setup (signing, routes, payloads),
// not load. Misses of the targets never fail the run.
func (r *report) wiringErrors() error {
	lowest := map[string]*stepResult{}
	for _, s := range r.Steps {
		if l, ok := lowest[s.Scenario]; s.Bot != nil && (!ok || s.Rate < l.Rate) {
			lowest[s.Scenario] = s
		}
	}
	var errs []error
	for _, s := range r.Steps {
		if lowest[s.Scenario] == s && s.Bot.Errors > 0 {
			errs = append(errs, fmt.Errorf("%s at %g/s, the scenario's lowest rate: %d errors (%s)", s.Scenario, s.Rate, s.Bot.Errors, errorSummary(s.Bot.ErrorKinds)))
		}
		if s.Floor.Errors > 0 {
			errs = append(errs, fmt.Errorf("the floor answered %d errors at %g/s (%s)", s.Floor.Errors, s.Rate, errorSummary(s.Floor.ErrorKinds)))
		}
	}
	return errors.Join(errs...)
}

func ratioOf(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// ms formats d in milliseconds with a precision that suits it.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f < 10:
		return fmt.Sprintf("%.2f", f)
	case f < 100:
		return fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("%.0f", f)
}

// perReq is CPU time per request in microseconds.
func perReq(d time.Duration, n int) string {
	if n == 0 || d <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f", float64(d)/float64(n)/float64(time.Microsecond))
}

func mb(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

// withRatio formats a bot figure beside its ratio to the floor's.
func withRatio(bot, floor time.Duration) string {
	if floor <= 0 {
		return ms(bot)
	}
	return fmt.Sprintf("%s (%.1f×)", ms(bot), ratioOf(bot, floor))
}

func (r *report) markdown(w io.Writer) {
	fmt.Fprintf(w, "## bytebot load test, %s\n\n", r.Started.Format("2006-01-02 15:04 UTC"))
	m := r.Machine
	workers := "default"
	if r.Options.Workers > 0 {
		workers = strconv.Itoa(r.Options.Workers)
	}
	fmt.Fprintf(w, "Machine: %d × %s, Linux %s, %s, Redis %s; load average %s at the start, %s at the end. Runs of %s each (quick: %v), open loop; bot: AUTO_REBOOT=%s, LOG_LEVEL=%s, WORKERS=%s.\n\n",
		m.CPUs, m.CPU, m.Kernel, m.Go, m.Redis, m.LoadAvg[0], m.LoadAvg[1], r.Options.Duration, r.Options.Quick, r.Options.AutoReboot, r.Options.LogLevel, workers)
	fmt.Fprintln(w, "Latency is from when each request was due to its whole answer read; ratios (×) are to the floor's figure in the run just before, at the same rate with the same bodies.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | rate/s | n | p50 ms | p99 ms | p99.9 ms | max ms | throughput/s | errors | max RSS MB | CPU µs/req |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, s := range r.Steps {
		f := s.Floor
		fmt.Fprintf(w, "| floor (%s body) | %g | %d | %s | %s | %s | %s | %.0f | %d | %s | %s |\n",
			bodyOf(s.Scenario), s.Rate, f.N, ms(f.P50), ms(f.P99), ms(f.P999), ms(f.Max), f.Throughput, f.Errors, mb(s.FloorRSS),
			perReq(s.FloorCPU["floor"], f.N))
		if b := s.Bot; b != nil {
			mark := ""
			if r.noisy(s) {
				mark = " †"
			}
			fmt.Fprintf(w, "| **%s**%s | %g | %d | %s | %s | %s | %s | %.0f | %d | %s | %s |\n",
				s.Scenario, mark, s.Rate, b.N, withRatio(b.P50, f.P50), withRatio(b.P99, f.P99), withRatio(b.P999, f.P999),
				withRatio(b.Max, f.Max), b.Throughput, b.Errors, mb(s.BotRSS), perReq(s.BotCPU["bytebot"], b.N))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "CPU µs/req is the process's CPU time (user and system) over the run, divided by the requests; for the bot it includes the drain after the run (its executor finishing the queued work).")
	var noisy int
	for _, s := range r.Steps {
		if s.Bot != nil && r.noisy(s) {
			noisy++
		}
	}
	if noisy > 0 {
		fmt.Fprintf(w, "\n† Other work on the machine used more than %.0f%% of its CPU during the floor's or the bot's run (see the notes): %d of these rows are unreliable.\n", noisyShare*100, noisy)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| process | start → /readyz 200 ms | idle RSS MB | largest RSS in the runs it sustained MB | peak RSS, all runs (VmHWM) MB |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: |")
	fmt.Fprintf(w, "| floor | %s | %s | %s | %s |\n", ms(r.Floor.Ready), mb(r.Floor.IdleRSS), mb(r.Floor.LoadRSS), mb(r.Floor.PeakRSS))
	if r.Bot.Ready > 0 {
		fmt.Fprintf(w, "| bytebot | %s | %s | %s | %s |\n", ms(r.Bot.Ready), mb(r.Bot.IdleRSS), mb(r.Bot.LoadRSS), mb(r.Bot.PeakRSS))
	}
	fmt.Fprintln(w)
	var notes []string
	for _, s := range r.Steps {
		floorCPU := fmt.Sprintf("floor run CPU µs/req: floor %s, harness %s; other processes used %.0f%% of the machine",
			perReq(s.FloorCPU["floor"], s.Floor.N), perReq(s.FloorCPU["harness"], s.Floor.N), 100*r.othersShare(s.FloorCPU, &s.Floor))
		if s.Bot == nil {
			notes = append(notes, fmt.Sprintf("- %s at %g/s: %s.", s.Scenario, s.Rate, floorCPU))
			continue
		}
		var parts []string
		if s.Note != "" {
			parts = append(parts, strings.TrimSuffix(s.Note, "; "))
		}
		if s.Bot.Errors > 0 {
			parts = append(parts, "errors: "+errorSummary(s.Bot.ErrorKinds))
		}
		if s.Floor.Errors > 0 {
			parts = append(parts, "floor errors: "+errorSummary(s.Floor.ErrorKinds))
		}
		drained := "the executor's last Slack call came " + ms(s.Drain) + " ms after the run"
		if !s.Drained {
			drained = "the executor was still calling Slack " + ms(s.Drain) + " ms after the run (not drained)"
		}
		parts = append(parts, drained)
		if len(s.BotCPU) > 0 {
			var cs []string
			for _, name := range []string{"bytebot", "redis", "fake-bytemark", "harness"} {
				if d, ok := s.BotCPU[name]; ok {
					cs = append(cs, fmt.Sprintf("%s %s (%s during the run)", name, perReq(d, s.Bot.N), perReq(s.BotCPURun[name], s.Bot.N)))
				}
			}
			parts = append(parts, "bot run CPU µs/req: "+strings.Join(cs, ", ")+
				fmt.Sprintf("; other processes used %.0f%% of the machine during the run", 100*r.othersShare(s.BotCPURun, s.Bot)))
		}
		parts = append(append(parts, perfNotes(s)...), floorCPU)
		if len(s.SlackCalls) > 0 {
			parts = append(parts, "Slack calls: "+countsText(s.SlackCalls))
		}
		notes = append(notes, fmt.Sprintf("- %s at %g/s: %s.", s.Scenario, s.Rate, strings.Join(parts, "; ")))
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "Notes per run:")
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
		fmt.Fprint(w, r.perfParagraph())
	}
	if len(r.BotLog) > 0 {
		fmt.Fprintf(w, "The bot's log (LOG_LEVEL=%s), by level and message:\n\n", r.Options.LogLevel)
		for _, l := range r.BotLog {
			fmt.Fprintf(w, "- %s\n", truncate(l, 200))
		}
		fmt.Fprintln(w)
	}
	if len(r.Ephemerals) > 0 {
		fmt.Fprintln(w, "Ephemeral messages the bot posted (the first few; none are expected):")
		fmt.Fprintln(w)
		for _, e := range r.Ephemerals {
			fmt.Fprintf(w, "- %q\n", truncate(e, 200))
		}
		fmt.Fprintln(w)
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "Targets:")
		fmt.Fprintln(w)
		for _, t := range r.Targets {
			verdict := "MISS"
			switch {
			case !t.Measured:
				verdict, t.Detail = "NOT MEASURED", "no run at that rate"
			case t.Pass:
				verdict = "PASS"
			}
			fmt.Fprintf(w, "- %s %s: %s\n", verdict, t.Name, t.Detail)
		}
		fmt.Fprintln(w)
	}
}

func bodyOf(scenario string) string {
	switch {
	case strings.HasPrefix(scenario, "alertmanager"):
		return strings.TrimPrefix(scenario, "alertmanager ")
	case strings.HasPrefix(scenario, "approve"):
		return "click"
	}
	return "slash"
}

func countsText(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return runtime.GOOS
	}
	return strings.TrimSpace(string(b))
}

// loadAvg is the 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}
