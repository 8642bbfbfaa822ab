package bot

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bytebot/bytebot/commands"
)

// The help texts are the same every time: each is built and made into a
// reply once (issue 20: building the full help took 58 µs a request, most
// of the bot's own CPU for `help`). At most helpCacheMax topics are kept,
// as a topic is whatever follows "help".
const helpCacheMax = 256

var (
	helpCache sync.Map // normalized topic → Reply
	helpKept  atomic.Int32
)

// helpReply is the reply to `help topic`.
func helpReply(topic string) Reply {
	key := strings.ToLower(strings.Join(strings.Fields(topic), " "))
	if r, ok := helpCache.Load(key); ok {
		return r.(Reply)
	}
	r := ephemeral(commands.HelpText(topic))
	if helpKept.Add(1) <= helpCacheMax {
		helpCache.Store(key, r)
	}
	return r
}
