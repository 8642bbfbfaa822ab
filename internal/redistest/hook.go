package redistest

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// OnCommand calls f with every command rdb sends, alone or in a pipeline,
// just before it is sent, with the context it is sent under.
func OnCommand(rdb redis.UniversalClient, f func(ctx context.Context, cmd redis.Cmder)) {
	rdb.AddHook(commandHook(f))
}

type commandHook func(ctx context.Context, cmd redis.Cmder)

func (f commandHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f commandHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		f(ctx, cmd)
		return next(ctx, cmd)
	}
}

func (f commandHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			f(ctx, c)
		}
		return next(ctx, cmds)
	}
}
