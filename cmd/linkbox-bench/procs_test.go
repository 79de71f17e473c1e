package main

import (
	"os"
	"testing"
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
