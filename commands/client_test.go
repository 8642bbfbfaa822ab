package commands_test

import (
	"github.com/bytebot/bytebot/bytemark"
	"github.com/bytebot/bytebot/commands"
)

// The real client is what the bot passes to commands.Run.
var _ commands.Cloud = (*bytemark.Client)(nil)
