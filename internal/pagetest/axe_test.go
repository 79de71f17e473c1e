package pagetest_test

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, vendored (testdata/README.md) so that the pass
// runs offline.
//
//go:embed testdata/axe.min.js
var axeSource string

// violation is one rule that axe found broken, with the elements that
// break it.
type violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// blocking reports whether v fails the pass: serious and critical
// violations do, moderate and minor ones are only logged.
func (v violation) blocking() bool { return v.Impact == "serious" || v.Impact == "critical" }

func (v violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n\t\t%v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
	}
	return b.String()
}

// axeRun runs the WCAG 2.2 A and AA rules and the best practices on the
// whole document and returns only the violations. The script is
// evaluated through DevTools, which the pages' Content-Security-Policy
// does not govern, so no page has to allow it.
const axeRun = `axe.run(document, {
	runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
	resultTypes: ["violations"],
}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
	nodes: v.nodes.map(n => ({target: n.target, failureSummary: n.failureSummary}))})))`

// audit injects axe-core into the page the browser shows, unless it is
// there already, and returns what it finds.
func audit(b context.Context) ([]violation, error) {
	ctx, cancel := context.WithTimeout(b, 60*time.Second)
	defer cancel()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === "object"`))
	if err != nil {
		return nil, err
	}
	if !loaded {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
			return nil, fmt.Errorf("inject axe-core: %w", err)
		}
	}
	return chromedp.Run(ctx, chromedp.Evaluate[[]violation](axeRun, chromedp.EvalAwaitPromise))
}
