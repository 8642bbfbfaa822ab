//go:build tools

// This file pins the project's dependencies before every package uses them; removed once they all do.
package main

import (
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/go-playground/validator/v10"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/sethvargo/go-envconfig"
	_ "github.com/slack-go/slack"
	_ "github.com/slack-go/slack/socketmode"
)

func main() {}
