package app

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"
)

// healthTimeout bounds the health check's request.
const healthTimeout = 3 * time.Second

// healthcheckCommand asks the server this configuration describes whether
// it lives (GET /healthz) or, with --ready, can serve (GET /readyz): the
// check of a container image that has no other HTTP client.
func healthcheckCommand(fs *flag.FlagSet) runFunc {
	ready := fs.Bool("ready", false, "ask /readyz (the store answers) instead of /healthz (the process runs)")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		cfg, err := e.raw.Parse()
		if err != nil {
			return err
		}
		target, err := localURL(cfg.Listen)
		if err != nil {
			return err
		}
		path := "/healthz"
		if *ready {
			path = "/readyz"
		}
		ctx, cancel := context.WithTimeout(ctx, healthTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+path, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("healthcheck: GET %s: %s", path, resp.Status)
		}
		_, err = fmt.Fprintln(e.stdout, "ok")
		return err
	}
}

// localURL is the base URL of a server listening on listen, as seen from
// its own machine: an address on every interface is asked on loopback.
func localURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("LINKBOX_LISTEN %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
