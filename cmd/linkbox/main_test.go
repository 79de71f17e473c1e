package main

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

// TestMain runs main itself when the test binary is started by
// TestExitCodes, with the arguments it was given.
func TestMain(m *testing.M) {
	if os.Getenv("LINKBOX_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestExitCodes: help exits 0, a command line written wrong 2 (as the flag
// package does), a command that fails 1.
func TestExitCodes(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"help"}, 0},
		{[]string{"apps", "--help"}, 0},
		{[]string{"frobnicate"}, 2},
		{[]string{"apps", "create", "--no-such-flag"}, 2},
		{[]string{"apps", "delete"}, 2},
		{[]string{"migrate"}, 1},
	} {
		cmd := exec.Command(os.Args[0], tt.args...)
		cmd.Env = append(os.Environ(), "LINKBOX_TEST_RUN_MAIN=1", "LINKBOX_DATABASE_URL=mysql://unsupported")
		err := cmd.Run()
		code := 0
		if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.code {
			t.Errorf("linkbox %q exited %d, want %d", tt.args, code, tt.code)
		}
	}
}
