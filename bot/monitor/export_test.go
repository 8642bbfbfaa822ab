package monitor

// Names the tests (package monitor_test) use from inside the package.

// HeldOnceKey is the approvals.Store.Once key that marks the held alert of
// source whose alert key (fingerprint@startsAt) is alertKey as being
// decided after its hold.
func HeldOnceKey(source, alertKey string) string { return "hooks:held:" + occurrence(source, alertKey) }
