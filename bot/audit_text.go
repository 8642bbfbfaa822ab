package bot

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/bytebot/bytebot/approvals"
	"github.com/bytebot/bytebot/bot/slackui"
	"github.com/bytebot/bytebot/commands"
)

// auditText renders the audit answer: entries newest first, cut to what
// was read (total is how many there are), each action's job ID once (on
// its newest line; the job that only asked for approval is not shown, its
// ticket's job is), and people as mentions.
func auditText(es []approvals.Entry, total int) string {
	var b strings.Builder
	b.WriteString("*Audit log, newest first*")
	if total > len(es) {
		fmt.Fprintf(&b, " (%d of %d entries; `/bytemark audit <server>` narrows it)", len(es), total)
	}
	b.WriteString("\n")
	shown := map[string]bool{} // actions (ticket, or job) whose job ID is shown
	for _, e := range es {
		fmt.Fprintf(&b, "• %s %s %s", e.Time.UTC().Format("2006-01-02 15:04:05Z"), slackui.Mention(e.Actor), commands.Code(e.Action))
		if e.Ticket != "" {
			fmt.Fprintf(&b, " ticket `%s`", e.Ticket)
		}
		fmt.Fprintf(&b, ": *%s*", e.Outcome)
		detail, job := splitAuditDetail(e.Detail)
		key := e.Ticket
		if key == "" {
			key = "job:" + job
		}
		var parts []string
		if detail != "" {
			parts = append(parts, detail)
		}
		if job != "" && !shown[key] && e.Outcome != "asked" {
			shown[key] = true
			parts = append(parts, "job "+commands.Code(job))
		}
		if len(parts) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(parts, "; "))
		}
		b.WriteString("\n")
	}
	return strings.ReplaceAll(b.String(), "<server>", "&lt;server&gt;")
}

var (
	auditJob      = regexp.MustCompile(`(?:^|[ ;]+)job ([a-z0-9]+)`)
	auditApproved = regexp.MustCompile(`approved by ([A-Z0-9, ]+)`)
	auditServerID = regexp.MustCompile(`(?:^|[ ;]+)server [0-9]+`)
)

// splitAuditDetail splits an entry's detail ("approved by U1, U2; job x server
// 1001") into what people read, escaped, with approvers as mentions, and
// the job ID. The server's numeric ID is left out: the line names it.
func splitAuditDetail(d string) (detail, job string) {
	if m := auditJob.FindStringSubmatch(d); m != nil {
		job = m[1]
		d = strings.Replace(d, m[0], "", 1)
	}
	d = auditServerID.ReplaceAllString(d, "")
	d = strings.Trim(d, " ;")
	var approvers []string
	if m := auditApproved.FindStringSubmatch(d); m != nil {
		for _, u := range strings.Split(m[1], ",") {
			if u = strings.TrimSpace(u); u != "" {
				approvers = append(approvers, u)
			}
		}
		d = strings.Replace(d, m[0], "\x00", 1)
	}
	d = commands.Escape(slackui.Truncate(d, 200))
	if approvers != nil {
		d = strings.Replace(d, "\x00", "approved by "+slackui.Mentions(approvers), 1)
	}
	return d, job
}
