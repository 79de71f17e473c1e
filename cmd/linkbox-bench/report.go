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

// report writes the results as JSON or as a table.
func report(w io.Writer, opt options, m machine, results []result) error {
	if opt.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Machine     machine  `json:"machine"`
			Duration    string   `json:"duration"`
			Concurrency int      `json:"concurrency"`
			Results     []result `json:"results"`
		}{m, opt.duration.String(), opt.concurrency, results})
	}
	fmt.Fprintf(w, "machine: %d CPUs, %s, %s, %s\n", m.CPUs, m.CPUModel, m.GoVersion, m.OS)
	fmt.Fprintf(w, "duration %v per scenario and server (%d alternating turns each), concurrency %d\n\n", opt.duration, rounds, opt.concurrency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\ttarget\tlinkbox ops/s\tp50\tp99\tcpu/op\tbare ops/s\tp50\tp99\tcpu/op\tratio\tmet")
	for _, r := range results {
		fmt.Fprintln(tw, row(r))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		for _, line := range details(r) {
			fmt.Fprintf(w, "%s: %s\n", r.Scenario, line)
		}
	}
	return nil
}

func row(r result) string {
	if r.LinkboxIdle != nil {
		l, b := r.LinkboxIdle, r.BareIdle
		return fmt.Sprintf("%s\t%s\t%d conns, %.1f MiB\t%.1f KiB/conn\t%d dropped\t%d conns, %.1f MiB\t%.1f KiB/conn\t%d dropped\t%.2f (rss)\t%s",
			r.Scenario, r.Target, l.Connections, l.RSSAfterMiB, l.PerConnKiB, l.Dropped,
			b.Connections, b.RSSAfterMiB, b.PerConnKiB, b.Dropped, r.Ratio, met(r.Met))
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%.2f (%s)\t%s", r.Scenario, r.Target, cells(r.Linkbox), cells(r.Bare), r.Ratio, r.RatioOf, met(r.Met))
}

func cells(s stats) string {
	cpu := "—" // not measured: the SSE scenarios count events, not requests
	if s.CPUPerOpUs > 0 {
		cpu = fmt.Sprintf("%.0f µs", s.CPUPerOpUs)
	}
	return fmt.Sprintf("%.0f\t%.2f ms\t%.2f ms\t%s", s.OpsPerSec, s.P50Ms, s.P99Ms, cpu)
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
	for _, s := range []struct {
		name string
		st   stats
	}{{"linkbox", r.Linkbox}, {"bare", r.Bare}} {
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
