package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
)

// machine describes where the figures come from.
type machine struct {
	CPUs      int    `json:"nproc"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
}

func machineInfo() machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, CPUModel: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = parseCPUModel(b)
	}
	return m
}

// parseCPUModel returns the first "model name" of /proc/cpuinfo, "unknown"
// when it has none (some architectures name it otherwise).
func parseCPUModel(cpuinfo []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown"
}

// report writes the runs as JSON or as tables, then, for several runs,
// how each compares with the first.
func report(w io.Writer, opt options, m machine, runs []benchRun) error {
	if opt.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Machine     machine    `json:"machine"`
			Duration    string     `json:"duration"`
			Concurrency int        `json:"concurrency"`
			Runs        []benchRun `json:"runs"`
		}{m, opt.duration.String(), opt.concurrency, runs})
	}
	fmt.Fprintf(w, "machine: %d CPUs, %s, %s, %s\n", m.CPUs, m.CPUModel, m.GoVersion, m.OS)
	fmt.Fprintf(w, "duration %v per scenario and server (%d alternating turns each), concurrency %d\n", opt.duration, rounds, opt.concurrency)
	for _, r := range runs {
		if err := reportRun(w, r); err != nil {
			return err
		}
	}
	if len(runs) > 1 {
		return compare(w, runs)
	}
	return nil
}

// reportRun writes one run's table and notes.
func reportRun(w io.Writer, run benchRun) error {
	fmt.Fprintln(w)
	fmt.Fprintln(w, runHeading(run))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\ttarget\tlinkbox ops/s\tp50\tp99\tmax\tcpu/op\tbare ops/s\tp50\tp99\tmax\tcpu/op\tratio\tmet\twal max")
	for _, r := range run.Results {
		fmt.Fprintf(tw, "%s\t%s\n", row(r), walCell(run, r.WALMaxMiB))
		if r.Single != nil {
			fmt.Fprintf(tw, "%s A → A\tsingle instance, same run\t%s\t\t\t\t\t\t%.2f (cross / single p99)\t\t\n", r.Scenario, cells(*r.Single), r.CrossRatio)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range run.Results {
		for _, line := range details(r) {
			fmt.Fprintf(w, "%s: %s\n", r.Scenario, line)
		}
	}
	if run.Store != storePostgres {
		fmt.Fprintf(w, "largest WAL of the run (sampled every %v): %.1f MiB\n", walEvery, run.WALMaxMiB)
	}
	return nil
}

// walCell is a scenario's largest WAL, "—" on PostgreSQL, which the tool
// does not watch.
func walCell(run benchRun, mib float64) string {
	if run.Store == storePostgres {
		return "—"
	}
	return fmt.Sprintf("%.1f MiB", mib)
}

// runHeading says what store and how many instances the run had.
func runHeading(run benchRun) string {
	switch {
	case run.Store == "":
		return "the server at --url"
	case run.Store == storeSQLite:
		return "SQLite, LINKBOX_SQLITE_SYNC=" + run.Sync
	case run.Instances > 1:
		return fmt.Sprintf("PostgreSQL, %d instances: requests to each in turn, notify-sse published on A and read on B (A → B) and on A (A → A), sse-idle on A; cpu/op of both, + their database backends'", run.Instances)
	}
	return "PostgreSQL, one instance; cpu/op + its database backends'"
}

// compare writes, per scenario, Linkbox's figure and its ratio to bare in
// each run, and both as ratios to the first run's: the ratios to bare,
// measured in alternation within a run, move least with the machine.
func compare(w io.Writer, runs []benchRun) error {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "scenario\tof"
	for _, r := range runs {
		head += "\t" + r.label() + " (ratio to bare)"
	}
	for _, r := range runs[1:] {
		head += "\t" + r.label() + " / " + runs[0].label() + " (of the ratios)"
	}
	fmt.Fprintln(tw, head)
	for i, first := range runs[0].Results {
		line := first.Scenario + "\t" + first.RatioOf
		for _, r := range runs {
			line += fmt.Sprintf("\t%.2f (%.2f)", figure(r.Results[i]), r.Results[i].Ratio)
		}
		for _, r := range runs[1:] {
			line += fmt.Sprintf("\t%.2f (%.2f)", ratio(figure(r.Results[i]), figure(first)), ratio(r.Results[i].Ratio, first.Ratio))
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// figure is Linkbox's figure that r's ratio divides.
func figure(r result) float64 {
	switch {
	case r.LinkboxIdle != nil:
		return r.LinkboxIdle.RSSAfterMiB
	case r.RatioOf == "p99":
		return r.Linkbox.P99Ms
	}
	return r.Linkbox.OpsPerSec
}

func row(r result) string {
	if r.LinkboxIdle != nil {
		l, b := r.LinkboxIdle, r.BareIdle
		return fmt.Sprintf("%s\t%s\t%d conns, %.1f MiB\t%.1f KiB/conn\t%d dropped\t\t\t%d conns, %.1f MiB\t%.1f KiB/conn\t%d dropped\t\t\t%.2f (rss)\t%s",
			r.Scenario, r.Target, l.Connections, l.RSSAfterMiB, l.PerConnKiB, l.Dropped,
			b.Connections, b.RSSAfterMiB, b.PerConnKiB, b.Dropped, r.Ratio, met(r.Met))
	}
	name := r.Scenario
	if r.Single != nil {
		name += " A → B"
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%.2f (%s)\t%s", name, r.Target, cells(r.Linkbox), cells(r.Bare), r.Ratio, r.RatioOf, met(r.Met))
}

func cells(s stats) string {
	cpu := "—" // not measured: the SSE scenarios count events, not requests
	if s.CPUPerOpUs > 0 {
		cpu = fmt.Sprintf("%.0f µs", s.CPUPerOpUs)
	}
	if s.StoreCPUPerOpUs > 0 {
		cpu += fmt.Sprintf(" + %.0f µs db", s.StoreCPUPerOpUs)
	}
	return fmt.Sprintf("%.0f\t%.2f ms\t%.2f ms\t%.2f ms\t%s", s.OpsPerSec, s.P50Ms, s.P99Ms, s.MaxMs, cpu)
}

func met(m *bool) string {
	switch {
	case m == nil:
		return "—"
	case *m:
		return "yes"
	}
	return "NO"
}

// details are the notes and errors under the table.
func details(r result) []string {
	var out []string
	if r.Note != "" {
		out = append(out, r.Note)
	}
	type named struct {
		name string
		st   stats
	}
	all := []named{{"linkbox", r.Linkbox}, {"bare", r.Bare}}
	if r.Single != nil {
		all = []named{{"linkbox A → B", r.Linkbox}, {"linkbox A → A", *r.Single}, {"bare", r.Bare}}
	}
	for _, s := range all {
		if s.st.Failed > 0 || s.st.FirstErr != "" {
			out = append(out, fmt.Sprintf("%s: %d failed; first: %s", s.name, s.st.Failed, s.st.FirstErr))
		}
	}
	for _, s := range []struct {
		name string
		st   *idleStats
	}{{"linkbox", r.LinkboxIdle}, {"bare", r.BareIdle}} {
		if s.st == nil {
			continue
		}
		out = append(out, fmt.Sprintf("%s: RSS %.1f → %.1f MiB, %d failed to connect %s", s.name, s.st.RSSBeforeMiB, s.st.RSSAfterMiB, s.st.Failed, s.st.FirstErr))
	}
	return out
}
