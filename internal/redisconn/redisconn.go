// Package redisconn turns a REDIS_URL into a go-redis client: a single
// node, a Sentinel set or a Cluster. It is the one place that builds the
// bot's Redis client, so that main and the tests build it the same way.
//
// The accepted forms are
//
//	redis://[[user]:password@]host:port[/db]
//	rediss://…                                            (TLS)
//	redis+sentinel://[[user]:password@]host:port[,host:port…]/MASTER[/db]
//	redis+cluster://[[user]:password@]host:port[,host:port…]
//	rediss+sentinel://…, rediss+cluster://…                (TLS)
//
// A password authenticates to the Redis nodes (for Sentinel: the master
// and replicas). Sentinels that need one of their own take it as the query
// parameter sentinel_password (and sentinel_username). Other query
// parameters are go-redis's (dial_timeout, pool_size, skip_verify, …).
//
// No error of this package holds the URL or any part of its user
// information: REDIS_URL is a secret.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// A Kind is the shape of a Redis deployment.
type Kind int

// Kinds of deployment.
const (
	Single   Kind = iota // one node (redis://, rediss://)
	Sentinel             // a master with replicas, watched by sentinels
	Cluster              // Redis Cluster
)

func (k Kind) String() string {
	switch k {
	case Sentinel:
		return "sentinel"
	case Cluster:
		return "cluster"
	}
	return "single"
}

// Config is a parsed REDIS_URL. Exactly one of Single, Failover and
// ClusterOpts is set, as Kind says.
type Config struct {
	Kind        Kind
	Single      *redis.Options
	Failover    *redis.FailoverOptions
	ClusterOpts *redis.ClusterOptions
}

// Forms lists the accepted URL forms, for error messages.
const Forms = "redis://, rediss://, redis+sentinel://host:port[,host:port…]/MASTER[/db], " +
	"redis+cluster://host:port[,host:port…] (rediss+… for TLS)"

// Parse parses raw without contacting anything. Its error lists every
// problem found and never holds the URL.
func Parse(raw string) (*Config, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, errScheme
	}
	switch strings.ToLower(scheme) {
	case "redis", "rediss":
		opt, err := redis.ParseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %s", describe(err, raw))
		}
		return &Config{Kind: Single, Single: opt}, nil
	case "redis+sentinel", "rediss+sentinel":
		return parseMulti(Sentinel, strings.HasPrefix(strings.ToLower(scheme), "rediss"), rest)
	case "redis+cluster", "rediss+cluster":
		return parseMulti(Cluster, strings.HasPrefix(strings.ToLower(scheme), "rediss"), rest)
	}
	return nil, errScheme
}

var errScheme = errors.New("REDIS_URL: not a redis:// or rediss:// URL, nor redis+sentinel:// or redis+cluster:// (rediss+… for TLS); want one of " + Forms)

// describe is err's message with the user information of raw cut out
// (url.Parse's errors quote the whole URL).
func describe(err error, raw string) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return "not a valid URL"
	}
	var secrets []string
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		p, _ := u.User.Password()
		secrets = append(secrets, u.User.String(), u.User.Username(), p)
	}
	return redact(err.Error(), secrets...)
}

// parseMulti parses what follows the :// of a sentinel or cluster URL.
func parseMulti(kind Kind, tls bool, rest string) (*Config, error) {
	form := "redis+sentinel://[[user]:password@]host:port[,host:port…]/MASTER[/db]"
	if kind == Cluster {
		form = "redis+cluster://[[user]:password@]host:port[,host:port…]"
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// The authority ends at the first '/', '?' or '#'.
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if i := strings.IndexByte(tail, '#'); i >= 0 {
		tail = tail[:i]
	}
	path, rawQuery, _ := strings.Cut(tail, "?")

	var user, password string
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		info := authority[:at]
		authority = authority[at+1:]
		u, p, _ := strings.Cut(info, ":")
		var err1, err2 error
		user, err1 = url.PathUnescape(u)
		password, err2 = url.PathUnescape(p)
		if err1 != nil || err2 != nil {
			bad("the user information has a bad %%-escape")
		}
	}

	var addrs []string
	if authority == "" {
		bad("no host:port")
	} else {
		hosts := strings.Split(authority, ",")
		for i, h := range hosts {
			host, port, err := net.SplitHostPort(h)
			n, perr := strconv.Atoi(port)
			if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
				// The host is not echoed: a mistyped URL can put a
				// password where a host should be.
				bad("host %d of %d is not host:port", i+1, len(hosts))
				continue
			}
			addrs = append(addrs, net.JoinHostPort(host, port))
		}
	}

	var master string
	db := 0
	segs := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	switch kind {
	case Sentinel:
		switch {
		case len(segs) == 0:
			bad("no MASTER name after the hosts")
		case len(segs) > 2:
			bad("the path has more than /MASTER/db")
		default:
			var err error
			if master, err = url.PathUnescape(segs[0]); err != nil || master == "" {
				bad("the MASTER name is not valid")
			}
			if len(segs) == 2 {
				if db, err = strconv.Atoi(segs[1]); err != nil || db < 0 {
					bad("the database after /MASTER/ is not a number")
				}
			}
		}
	case Cluster:
		if len(segs) > 0 {
			bad("a cluster URL has no path (Redis Cluster has one database)")
		}
	}

	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		bad("the query is not valid")
	}
	sentinelUser, sentinelPassword := q.Get("sentinel_username"), q.Get("sentinel_password")
	if kind == Cluster && (q.Has("sentinel_username") || q.Has("sentinel_password")) {
		bad("sentinel_username and sentinel_password are for redis+sentinel:// URLs")
	}
	q.Del("sentinel_username")
	q.Del("sentinel_password")

	if len(problems) > 0 {
		return nil, fmt.Errorf("REDIS_URL: %s (want %s)", strings.Join(problems, "; "), form)
	}

	// go-redis parses the rest of the options from a URL of the first host
	// and the query; the user information is set afterwards, so no error
	// of go-redis can quote it.
	base := url.URL{Scheme: "redis", Host: addrs[0], RawQuery: q.Encode()}
	if tls {
		base.Scheme = "rediss"
	}
	c := &Config{Kind: kind}
	if kind == Sentinel {
		q.Set("master_name", master)
		base.RawQuery = q.Encode()
		base.Path = "/" + strconv.Itoa(db)
		o, err := redis.ParseFailoverURL(base.String())
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %s", redact(err.Error(), password, sentinelPassword))
		}
		o.SentinelAddrs = addrs
		o.Username, o.Password = user, password
		o.SentinelUsername, o.SentinelPassword = sentinelUser, sentinelPassword
		if o.TLSConfig != nil {
			// Sentinels, master and replicas are different hosts: each
			// connection checks the name it dials.
			o.TLSConfig.ServerName = ""
		}
		c.Failover = o
		return c, nil
	}
	o, err := redis.ParseClusterURL(base.String())
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %s", redact(err.Error(), password, sentinelPassword))
	}
	o.Addrs = addrs
	o.Username, o.Password = user, password
	c.ClusterOpts = o
	return c, nil
}

// redact is a go-redis error message without the secrets, and without
// any quoted value (go-redis quotes the values it cannot parse: a mistyped
// URL can put a password there).
func redact(msg string, secrets ...string) string {
	if i := strings.IndexByte(msg, '"'); i >= 0 {
		msg = strings.TrimRight(msg[:i], ": ")
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "…")
		}
	}
	return msg
}

// Client builds the client c describes. Every kind stops a call when its
// context's deadline passes (ContextTimeoutEnabled): a Redis that hangs
// must not hold a Slack request past its three seconds.
//
// A new connection costs no round trip of its own before its first
// command (AUTH aside, when there is a password): RESP2, so no HELLO, and
// no CLIENT SETINFO. With Redis far away (another region, a hosted Redis)
// each of those is one more round trip on the request that opened the
// connection (issue 20, point 6).
func (c *Config) Client() redis.UniversalClient {
	switch c.Kind {
	case Sentinel:
		o := *c.Failover
		o.ContextTimeoutEnabled, o.Protocol, o.DisableIdentity = true, 2, true
		return redis.NewFailoverClient(&o)
	case Cluster:
		o := *c.ClusterOpts
		o.ContextTimeoutEnabled, o.Protocol, o.DisableIdentity = true, 2, true
		return redis.NewClusterClient(&o)
	}
	o := *c.Single
	o.ContextTimeoutEnabled, o.Protocol, o.DisableIdentity = true, 2, true
	return redis.NewClient(&o)
}

// Open parses raw and builds its client; it does not contact Redis.
func Open(raw string) (redis.UniversalClient, Kind, error) {
	c, err := Parse(raw)
	if err != nil {
		return nil, 0, err
	}
	return c.Client(), c.Kind, nil
}

// WaitReplicas is how many replicas a write that decides something (a
// ticket opened, a vote, a job queued, started or finished) waits for
// before it is acknowledged,
// for approvals.Options.WaitReplicas: one with Sentinel, whose failover
// promotes a replica, so that an acknowledged approval survives it; none
// for a single node, which has no replica to wait for (and no extra round
// trip is spent asking), nor for Cluster (see README: Redis Cluster).
func (k Kind) WaitReplicas() int {
	if k == Sentinel {
		return 1
	}
	return 0
}

// LogTo sends go-redis's own messages (a Sentinel failover followed, a
// Cluster node gone, …) to logger at level Info, instead of go-redis's
// plain lines on stderr. It sets go-redis's process-wide logger.
func LogTo(logger *slog.Logger) { redis.SetLogger(slogPrintf{logger}) }

type slogPrintf struct{ l *slog.Logger }

func (p slogPrintf) Printf(ctx context.Context, format string, v ...any) {
	p.l.InfoContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}
