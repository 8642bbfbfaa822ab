// Package reliability holds bytebot's reliability scenarios (issue 9): the
// promises the bot keeps when things go wrong, each an automated test. The
// scenarios about processes run the real bot binary against a redis-server
// the test starts on its own port; the others drive bot.Server in the test
// process. Everything is in the _test.go files; RELIABILITY.md at the
// repository's root lists the scenarios, what each asserts, and its result.
//
//	go test -race -count=1 ./internal/reliability/
package reliability
