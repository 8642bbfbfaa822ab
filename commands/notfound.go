package commands

import "github.com/bytebot/bytebot/bytemark"

// isNotFound reports whether err says the thing asked for doesn't exist
// (or the login can't see it).
func isNotFound(err error) bool { return bytemark.IsNotFound(err) }

// refused reports whether err is the API refusing the request outright, so
// that trying another way (a power cycle after a failed graceful restart)
// is pointless.
func refused(err error) bool {
	return bytemark.IsNotFound(err) || bytemark.IsForbidden(err) || bytemark.IsUnauthorized(err) || bytemark.IsBadRequest(err)
}
