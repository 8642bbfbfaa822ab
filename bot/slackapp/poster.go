package slackapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/bytebot/bytebot/bot"
	"github.com/bytebot/bytebot/bot/slackui"
)

// Poster posts to the Slack Web API. It retries calls that Slack rate
// limits (honouring Retry-After) and transient failures (network errors,
// 5xx) with backoff, a bounded number of times, so that a result is not lost
// because Slack was busy.
type Poster struct {
	api    *slack.Client
	logger *slog.Logger
	errors *prometheus.CounterVec

	// MaxAttempts is how many times a call is tried (default 5).
	MaxAttempts int
	// MaxWait bounds the total time spent waiting between attempts
	// (default 2 minutes).
	MaxWait time.Duration
	// Sleep waits for d or until ctx is done, between retries; tests may
	// replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// APIURL is the Slack Web API base the client uses (SLACK_API_URL;
	// "" is Slack's own). Respond posts only to response_urls on its
	// host or its "hooks." host (hooks.slack.com for slack.com), so that
	// a response_url from anywhere else is never posted to.
	APIURL string
	// HTTP posts to response_urls (default: a client with a 10s timeout).
	HTTP *http.Client
}

// NewPoster returns a Poster that uses api. The client should have a
// timeout (slack.OptionHTTPClient with an http.Client that has one); point it
// at another base URL with slack.OptionAPIURL (GovSlack, tests).
//
// Poster is a prometheus.Collector: the Server that uses it registers
// its bytebot_slack_api_errors_total counter.
func NewPoster(api *slack.Client, logger *slog.Logger) *Poster {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Poster{
		api:    api,
		logger: logger,
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bytebot_slack_api_errors_total",
			Help: "Failed Slack Web API calls (each attempt), by method and error.",
		}, []string{"method", "error"}),
		MaxAttempts: 5,
		MaxWait:     2 * time.Minute,
		Sleep:       bot.Sleep,
		HTTP:        &http.Client{Timeout: 10 * time.Second},
	}
}

// Describe implements prometheus.Collector.
func (p *Poster) Describe(ch chan<- *prometheus.Desc) { p.errors.Describe(ch) }

// Collect implements prometheus.Collector.
func (p *Poster) Collect(ch chan<- prometheus.Metric) { p.errors.Collect(ch) }

func msgOptions(m slackui.Message) []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false)}
	if len(m.Blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(m.Blocks...))
	}
	return opts
}

// Post implements Poster with chat.postMessage.
func (p *Poster) Post(ctx context.Context, channel, threadTS string, m slackui.Message) (string, error) {
	opts := msgOptions(m)
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	var ts string
	err := p.retry(ctx, "chat.postMessage", func() error {
		var err error
		_, ts, err = p.api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	if cantPost(err) {
		err = fmt.Errorf("%w: %w", bot.ErrCantPost, err)
	}
	return ts, err
}

// cantPost reports whether err is Slack saying the bot can't post in the
// channel at all: a private channel or DM it is not in, a public channel
// it has not joined, an archived one.
func cantPost(err error) bool {
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		return false
	}
	switch se.Err {
	case "channel_not_found", "not_in_channel", "is_archived":
		return true
	}
	return false
}

// Respond implements Poster by posting to a response_url (5 posts within
// 30 minutes of the command, Slack's rules). A URL that isn't Slack's is
// refused, unposted.
func (p *Poster) Respond(ctx context.Context, responseURL string, r bot.Response) error {
	if !p.slackURL(responseURL) {
		return errors.New("slack response_url: not on Slack's hooks host; not posted")
	}
	msg := &slack.WebhookMessage{Text: r.Text, ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: r.Replace}
	if r.InChannel {
		msg.ResponseType = slack.ResponseTypeInChannel
	}
	if len(r.Blocks) > 0 {
		msg.Blocks = &slack.Blocks{BlockSet: r.Blocks}
	}
	return p.retry(ctx, "response_url", func() error {
		return slack.PostWebhookCustomHTTPContext(ctx, responseURL, p.HTTP, msg)
	})
}

// slackURL reports whether u is a response_url Slack could have made: on
// the Web API's host, or its hooks host.
func (p *Poster) slackURL(u string) bool {
	api := p.APIURL
	if api == "" {
		api = slack.APIURL
	}
	a, err := url.Parse(api)
	if err != nil {
		return false
	}
	r, err := url.Parse(u)
	if err != nil || r.User != nil || r.Scheme != a.Scheme && r.Scheme != "https" {
		return false
	}
	host := strings.ToLower(r.Host)
	apiHost := strings.ToLower(a.Host)
	return host == apiHost || host == "hooks."+apiHost
}

// Update implements Poster with chat.update.
func (p *Poster) Update(ctx context.Context, channel, ts string, m slackui.Message) error {
	opts := msgOptions(m)
	if len(m.Blocks) == 0 {
		// An update without blocks would keep the old ones (and their buttons).
		opts = append(opts, slack.MsgOptionBlocks())
	}
	return p.retry(ctx, "chat.update", func() error {
		_, _, _, err := p.api.UpdateMessageContext(ctx, channel, ts, opts...)
		return err
	})
}

// Ephemeral implements Poster with chat.postEphemeral.
func (p *Poster) Ephemeral(ctx context.Context, channel, user string, m slackui.Message) error {
	return p.retry(ctx, "chat.postEphemeral", func() error {
		_, err := p.api.PostEphemeralContext(ctx, channel, user, msgOptions(m)...)
		return err
	})
}

// GroupMembers implements Poster with usergroups.users.list.
func (p *Poster) GroupMembers(ctx context.Context, groupID string) ([]string, error) {
	var users []string
	err := p.retry(ctx, "usergroups.users.list", func() error {
		var err error
		users, err = p.api.GetUserGroupMembersContext(ctx, groupID)
		return err
	})
	return users, err
}

// retry runs call until it succeeds, fails for good, or the attempts or the
// waiting budget run out.
func (p *Poster) retry(ctx context.Context, method string, call func() error) error {
	attempts := max(p.MaxAttempts, 1)
	var waited time.Duration
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil {
			return nil
		}
		p.errors.WithLabelValues(method, errorLabel(err)).Inc()
		wait, retryable := retryDelay(err, backoff)
		if !retryable || attempt >= attempts || ctx.Err() != nil {
			return fmt.Errorf("slack %s: %w", method, err)
		}
		if waited+wait > p.MaxWait {
			return fmt.Errorf("slack %s: giving up after %s: %w", method, waited, err)
		}
		p.logger.Warn("slack call failed; retrying", "method", method, "attempt", attempt, "wait", wait.String(), "err", err)
		if err := p.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("slack %s: %w", method, err)
		}
		waited += wait
		backoff = min(backoff*2, 30*time.Second)
	}
}

// retryDelay says whether err is worth retrying and how long to wait first:
// Slack's Retry-After for 429s, else backoff with jitter.
func retryDelay(err error, backoff time.Duration) (time.Duration, bool) {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return max(rl.RetryAfter, time.Second) + rand.N(250*time.Millisecond), true
	}
	jittered := backoff + rand.N(backoff/4+1)
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return jittered, sc.Retryable()
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return jittered, true
		}
		return 0, false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return jittered, true
	}
	return 0, false
}

// errorLabel is a low-cardinality label for err.
func errorLabel(err error) string {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	var ne net.Error
	switch {
	case errors.As(err, &rl):
		return "ratelimited"
	case errors.As(err, &sc):
		return fmt.Sprintf("http_%d", sc.Code)
	case errors.As(err, &se):
		if len(se.Err) <= 40 {
			return se.Err
		}
		return "slack_error"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &ne):
		return "network"
	}
	return "other"
}
