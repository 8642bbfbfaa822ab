package bot

import "time"

// Defaults of the settings that the bot and main's configuration share:
// the one source. A zero field of Config takes them, and main's
// configuration (config.go) takes its defaults for these settings from
// here; the monitoring settings' are in hooks_config.go.
const (
	DefaultApprovalsRequired = 1                // APPROVALS_REQUIRED
	DefaultApprovalTTL       = 15 * time.Minute // APPROVAL_TTL
	DefaultGroupMaxAge       = time.Hour        // USERGROUP_MAX_AGE
	DefaultWorkers           = 4                // WORKERS
)
