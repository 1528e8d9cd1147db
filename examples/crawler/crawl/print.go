package crawl

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/faceoptout/faceoptout/exclusion"
)

// Totals counts results by verdict.
type Totals struct {
	Allowed, Blocked, Review, Unchecked int
}

// Count returns the totals of results.
func Count(results []Result) Totals {
	var t Totals
	for _, r := range results {
		switch r.Verdict {
		case exclusion.Allow:
			t.Allowed++
		case exclusion.Block:
			t.Blocked++
		case exclusion.Review:
			t.Review++
		default:
			t.Unchecked++
		}
	}
	return t
}

// String returns "allowed A, blocked B, review R, unchecked U (of N)".
func (t Totals) String() string {
	return fmt.Sprintf("allowed %d, blocked %d, review %d, unchecked %d (of %d)",
		t.Allowed, t.Blocked, t.Review, t.Unchecked, t.Allowed+t.Blocked+t.Review+t.Unchecked)
}

// Print writes one line per result (verdict, source, matching request ids,
// reason with distances and thresholds), then the totals.
func Print(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERDICT\tIMAGE\tREQUESTS\tWHY")
	for _, r := range results {
		ids := "-"
		if len(r.RequestIDs) > 0 {
			ids = strings.Join(r.RequestIDs, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", strings.ToUpper(r.Verdict.String()), r.Source, ids, oneLine(r.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "totals: %s; only allowed images are indexed\n", Count(results))
	return err
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
