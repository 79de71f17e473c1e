package main

import (
	"os"
	"testing"
	"time"
)

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tlinkbox\nVmPeak:\t  900 kB\nVmRSS:\t   12345 kB\nThreads:\t7\n"
	got, err := parseVmRSS([]byte(status))
	if err != nil || got != 12345*1024 {
		t.Errorf("parseVmRSS = %d, %v; want %d, nil", got, err, 12345*1024)
	}
}

func TestParseVmRSSBadInput(t *testing.T) {
	for _, status := range []string{
		"",
		"Name:\tx\n",
		"VmRSS:\t12 MB\n",
		"VmRSS:\tlots kB\n",
		"VmRSS:\t-5 kB\n",
		"VmRSS:\n",
	} {
		if got, err := parseVmRSS([]byte(status)); err == nil {
			t.Errorf("parseVmRSS(%q) = %d, nil; want an error", status, got)
		}
	}
}

func TestReadRSSOfSelf(t *testing.T) {
	got, err := readRSS(os.Getpid())
	if err != nil || got <= 0 {
		t.Errorf("readRSS(self) = %d, %v; want > 0, nil", got, err)
	}
}

func TestParseCPUTime(t *testing.T) {
	// A command with spaces and parentheses; utime 250 and stime 50 ticks.
	stat := "4242 (linkbox (x) y) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0 100 0 0\n"
	got, err := parseCPUTime([]byte(stat))
	if err != nil || got != 3*time.Second {
		t.Errorf("parseCPUTime = %v, %v; want 3s, nil", got, err)
	}
	for _, bad := range []string{"", "4242 linkbox S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 -1 5 0", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 a 5 0"} {
		if got, err := parseCPUTime([]byte(bad)); err == nil {
			t.Errorf("parseCPUTime(%q) = %v, nil; want an error", bad, got)
		}
	}
}

func TestReadCPUOfSelf(t *testing.T) {
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) { // burn a few ticks
	}
	if got, err := readCPU(os.Getpid()); err != nil || got <= 0 {
		t.Errorf("readCPU(self) = %v, %v; want > 0, nil", got, err)
	}
}

func TestParseCPUModel(t *testing.T) {
	tests := []struct{ cpuinfo, want string }{
		{"processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nmodel name\t: other\n", "Intel(R) Xeon(R) CPU @ 2.20GHz"},
		{"processor\t: 0\nBogoMIPS\t: 50.00\n", "unknown"},
		{"", "unknown"},
	}
	for _, tt := range tests {
		if got := parseCPUModel([]byte(tt.cpuinfo)); got != tt.want {
			t.Errorf("parseCPUModel(%q) = %q, want %q", tt.cpuinfo, got, tt.want)
		}
	}
}
