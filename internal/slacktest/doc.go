// Package slacktest is the one Slack kit for every test and for the load
// harness: a stand-in for the Slack Web API and for response_url (API),
// Slack's v0 request signing (Signer), and builders for what Slack and
// monitoring send the bot (slash commands, block_actions clicks,
// view_submission payloads, Alertmanager and Grafana deliveries).
//
// It knows nothing about the bot: it speaks Slack's wire format only, so
// that a test asserts what a person in Slack would see. It is a normal
// package (not a _test file) so that internal/loadtest, a program, can use
// it too.
//
// Slack's rules the stand-in enforces (shared/slack.md):
//   - every Web API call carries the bot token (else invalid_auth);
//   - a response_url takes at most 5 posts within 30 minutes of the
//     command or click that carried it (then 404 used_url / expired_url);
//   - a trigger_id opens one view (views.open, views.push) within 3
//     seconds of the request that carried it (else expired_trigger_id or
//     exchanged_trigger_id); one the kit did not hand out is
//     invalid_trigger_id unless AddTrigger was told about it;
//   - 429 with Retry-After (whole seconds) and {"ok":false,"error":"ratelimited"}.
//
// The tests of bot and bot/monitor (through internal/bottest),
// internal/reliability and internal/loadtest all use it: a Slack stand-in,
// signing helper or payload builder written anywhere else is a copy to
// remove.
package slacktest
