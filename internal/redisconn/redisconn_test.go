package redisconn

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestParseForms(t *testing.T) {
	t.Run("single", func(t *testing.T) {
		c, err := Parse("rediss://:pw@cache.example:6380/2")
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind != Single || c.Single.Addr != "cache.example:6380" || c.Single.DB != 2 || c.Single.Password != "pw" || c.Single.TLSConfig == nil {
			t.Errorf("Parse = %+v", c.Single)
		}
	})
	t.Run("sentinel", func(t *testing.T) {
		c, err := Parse("redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26379,[::1]:26380/mymaster/3?dial_timeout=2s&sentinel_password=sp")
		if err != nil {
			t.Fatal(err)
		}
		o := c.Failover
		if c.Kind != Sentinel || o.MasterName != "mymaster" || o.DB != 3 || o.Password != "s3cret" ||
			o.SentinelPassword != "sp" || o.DialTimeout != 2*time.Second || o.TLSConfig != nil ||
			strings.Join(o.SentinelAddrs, ",") != "10.0.0.1:26379,10.0.0.2:26379,[::1]:26380" {
			t.Errorf("Parse = %+v", o)
		}
	})
	t.Run("sentinel TLS", func(t *testing.T) {
		c, err := Parse("rediss+sentinel://user:pw@s1:26379/m")
		if err != nil {
			t.Fatal(err)
		}
		o := c.Failover
		if o.TLSConfig == nil || o.TLSConfig.ServerName != "" || o.Username != "user" || o.DB != 0 {
			t.Errorf("Parse = %+v", o)
		}
	})
	t.Run("cluster", func(t *testing.T) {
		c, err := Parse("rediss+cluster://:p%40ss@n1:7000,n2:7001")
		if err != nil {
			t.Fatal(err)
		}
		o := c.ClusterOpts
		if c.Kind != Cluster || strings.Join(o.Addrs, ",") != "n1:7000,n2:7001" || o.Password != "p@ss" || o.TLSConfig == nil {
			t.Errorf("Parse = %+v", o)
		}
	})
}

// TestClientsStopAtDeadlines checks that every kind of client honours
// contexts' deadlines, as main needs.
func TestClientsStopAtDeadlines(t *testing.T) {
	for _, u := range []string{"redis://127.0.0.1:1/0", "redis+sentinel://127.0.0.1:1/m", "redis+cluster://127.0.0.1:1"} {
		c, kind, err := Open(u)
		if err != nil {
			t.Fatal(err)
		}
		var on bool
		switch c := c.(type) {
		case *redis.Client:
			on = c.Options().ContextTimeoutEnabled
		case *redis.ClusterClient:
			on = c.Options().ContextTimeoutEnabled
		}
		if !on {
			t.Errorf("%s (%s): ContextTimeoutEnabled is off", u, kind)
		}
		c.Close()
	}
}

// TestParseErrors checks that a bad URL gets an error saying what is
// wrong, and that no error ever holds the password.
func TestParseErrors(t *testing.T) {
	const pw = "Sup3rSecret"
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"http://:" + pw + "@host:6379", []string{"not a redis:// or rediss:// URL"}},
		{":" + pw + "@host:6379", []string{"not a redis:// or rediss:// URL"}},
		{"redis://:" + pw + "@host:6379/x", []string{"REDIS_URL: ", "database"}},
		{"redis://:" + pw + "@host:port", []string{"not a valid URL"}},
		{"redis+sentinel://:" + pw + "@h1:26379,h2:26379", []string{"no MASTER name"}},
		{"redis+sentinel://:" + pw + "@h1:26379/m/db", []string{"database after /MASTER/ is not a number"}},
		{"redis+sentinel://:" + pw + "@h1:26379/m/1/2", []string{"more than /MASTER/db"}},
		{"redis+sentinel://:" + pw + "@h1,h2:x/m", []string{"host 1 of 2 is not host:port", "host 2 of 2 is not host:port"}},
		{"redis+sentinel://:" + pw, []string{"host 1 of 1 is not host:port", "no MASTER name"}},
		{"redis+sentinel://" + pw + "/m", []string{"host 1 of 1 is not host:port"}},
		{"redis+sentinel://h:1/m?dial_timeout=" + pw, []string{"dial_timeout"}},
		{"redis+sentinel://:" + pw + "@h:1/m?nonsense=1", []string{"nonsense"}},
		{"redis+cluster://:" + pw + "@", []string{"no host:port"}},
		{"redis+cluster://:" + pw + "@h:1/0", []string{"cluster URL has no path"}},
		{"redis+cluster://:" + pw + "@h:1?sentinel_password=" + pw, []string{"for redis+sentinel:// URLs"}},
		{"redis+cluster://:%zz" + pw + "@h:1", []string{"bad %-escape"}},
	} {
		_, err := Parse(tc.url)
		if err == nil {
			t.Errorf("Parse(%q) = nil error", tc.url)
			continue
		}
		msg := err.Error()
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("Parse(%q) = %q; want it to say %q", tc.url, msg, w)
			}
		}
		if strings.Contains(msg, pw) || !strings.HasPrefix(msg, "REDIS_URL: ") {
			t.Errorf("Parse(%q) = %q: echoes the password, or does not name REDIS_URL", tc.url, msg)
		}
	}
}
