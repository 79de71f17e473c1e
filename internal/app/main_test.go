package app_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/linkbox/linkbox/internal/app"
)

// asLinkbox, set in a child's environment, makes the test binary be the
// linkbox command: tests that must kill a server outright (SIGKILL) run it
// as a process of its own without building one.
const asLinkbox = "LINKBOX_TEST_AS_LINKBOX"

func TestMain(m *testing.M) {
	if os.Getenv(asLinkbox) == "1" {
		if err := app.Run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "linkbox:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
