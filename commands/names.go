package commands

// This file is the face of the command table that the policy engine
// (commands/policy) reads: the names rules may list, which of them change
// servers, and which can't be undone. A new command in the table is known
// to policies without any edit here.

// ActionNames returns the name of every command, in help order ("help",
// "list", …, "disc add", …).
func ActionNames() []string {
	names := make([]string, 0, len(table))
	for _, c := range table {
		names = append(names, c.name)
	}
	return names
}

// Changes reports whether the command with this name changes a server (as
// opposed to reading, or being answered by the bot alone). It is false for
// unknown names.
func Changes(name string) bool {
	c := lookup(name)
	return c != nil && c.kind == writes
}

// Irreversible reports whether the command with this name destroys data for
// good (purge, disc purge, reimage): what Action.Destructive says of it. It
// asks the command's first help example, so it needs no list of its own.
func Irreversible(name string) bool {
	c := lookup(name)
	if c == nil || c.kind != writes || len(c.examples) == 0 {
		return false
	}
	a, err := Parse(c.examples[0])
	return err == nil && a.Destructive()
}

// Suggest returns the candidate nearest to word, if it is near enough to be
// a plausible typo, or "".
func Suggest(word string, candidates []string) string { return closest(word, candidates) }

// HelpExamples returns the examples of the command with this name.
func HelpExamples(name string) []string {
	if c := lookup(name); c != nil {
		return c.examples
	}
	return nil
}
