package commands

import (
	"fmt"
	"strings"
)

// unknown explains an unknown command word, suggesting the closest one.
func unknown(words []string) error {
	word := strings.ToLower(words[0])
	var names []string
	for _, c := range table {
		if !strings.HasPrefix(c.name, "disc ") {
			names = append(names, c.name)
		}
	}
	names = append(names, "disc")
	msg := fmt.Sprintf("I don't know the command %s.", quote(words[0]))
	if s := closest(word, names); s != "" {
		if s == "disc" && len(words) > 1 && lookup("disc "+strings.ToLower(words[1])) != nil {
			s += " " + strings.ToLower(words[1])
		}
		msg += fmt.Sprintf(" Did you mean `%s`?", s)
	}
	return problem(msg + " Try `/bytemark help` for the list.")
}

// closest returns the candidate nearest to word by Levenshtein distance, if
// it is near enough to be a plausible typo, or "".
func closest(word string, candidates []string) string {
	if len(word) > 32 {
		return ""
	}
	best, bestD := "", 3 // suggest only within two edits
	for _, c := range candidates {
		d := levenshtein(word, c)
		if d < bestD && d < len([]rune(c)) && d < len([]rune(word)) {
			best, bestD = c, d
		}
	}
	return best
}

// levenshtein returns the edit distance between a and b, in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
