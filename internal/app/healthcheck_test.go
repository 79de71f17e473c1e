package app_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestHealthcheck: the command asks the server on LINKBOX_LISTEN — on
// loopback when it listens on every interface — and fails when none
// answers there or the address is malformed.
func TestHealthcheck(t *testing.T) {
	url := dbtest.SQLite(t)
	s := serve(t, map[string]string{"LINKBOX_DATABASE_URL": url})
	_, port, _ := net.SplitHostPort(s.addr)
	check := func(listen string, args ...string) error {
		var out bytes.Buffer
		err := app.Run(context.Background(), append([]string{"healthcheck"}, args...),
			env(map[string]string{"LINKBOX_DATABASE_URL": url, "LINKBOX_LISTEN": listen}), &out, io.Discard)
		if err == nil && out.String() != "ok\n" {
			t.Errorf("healthcheck %s %v printed %q", listen, args, out.String())
		}
		return err
	}
	for _, listen := range []string{s.addr, ":" + port, "0.0.0.0:" + port, "[::]:" + port} {
		if err := check(listen); err != nil {
			t.Errorf("healthcheck with LINKBOX_LISTEN=%s: %v", listen, err)
		}
	}
	if err := check(s.addr, "--ready"); err != nil {
		t.Errorf("healthcheck --ready: %v", err)
	}
	if err := check(freeAddr(t)); err == nil {
		t.Error("healthcheck passed with no server on the address")
	}
	if err := check("no-port"); err == nil {
		t.Error("healthcheck passed with a malformed LINKBOX_LISTEN")
	}
}
