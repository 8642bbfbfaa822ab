package commands

import (
	"errors"
	"strings"
	"testing"
)

// Benchmarks for the hot paths of package commands (issue 8); BenchmarkParse
// is in parse_test.go.

// BenchmarkValidate measures Validate on actions as Parse returns them (so
// the validator is already built): a DiscAdd, which runs the most checks,
// and a Show.
func BenchmarkValidate(b *testing.B) {
	for _, in := range []string{"disc add web1 data 25G archive", "show web1.default.acme"} {
		a, err := Parse(in)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(a.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Validate(a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeAlertmanager100 measures decoding an Alertmanager webhook
// of 100 alerts, 90 naming a server and 10 skipped.
func BenchmarkDecodeAlertmanager100(b *testing.B) {
	body := mustRead(b, "alertmanager_100.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := DecodeAlertmanager(body, "bytemark_server")
		if err != nil {
			b.Fatal(err)
		}
		if len(d.Alerts) != 90 || len(d.Skipped) != 10 {
			b.Fatalf("%d alerts, %d skipped; want 90, 10", len(d.Alerts), len(d.Skipped))
		}
	}
}

// BenchmarkParseSize measures ParseSize on the sizes people type, and on
// one it refuses (the error path builds a message).
func BenchmarkParseSize(b *testing.B) {
	for _, tt := range []struct {
		in   string
		want int // 0: an error
	}{
		{"25G", 25600},
		{"25GiB", 25600},
		{"1.5G", 1536},
		{"512M", 512},
		{"1T", 1 << 20},
		{"50", 51200},
		{"10Q", 0},
	} {
		b.Run(strings.ReplaceAll(tt.in, ".", "_"), func(b *testing.B) {
			if _, err := ParseSize(tt.in); tt.want == 0 {
				var usage *UsageError
				if !errors.As(err, &usage) {
					b.Fatalf("ParseSize(%q) = %v; want a *UsageError", tt.in, err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				n, err := ParseSize(tt.in)
				if n != tt.want || (err == nil) != (tt.want != 0) {
					b.Fatalf("ParseSize(%q) = %d, %v; want %d", tt.in, n, err, tt.want)
				}
			}
		})
	}
}
