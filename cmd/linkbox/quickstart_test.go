package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linkbox/linkbox/internal/apptest"
)

// quickstart returns the README's quick start: the sh block after the
// <!-- quickstart --> mark.
func quickstart(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- quickstart -->\n```sh\n")
	block, _, closed := strings.Cut(rest, "\n```\n")
	if !ok || !closed {
		t.Fatal("README.md has no ```sh block after <!-- quickstart -->")
	}
	return block
}

var openLink = regexp.MustCompile(`Open (http://\S+/linking/\S+) in a browser`)

// TestQuickStart runs the README's quick start as written, with bash, curl
// and jq, against this build as linkbox on PATH: when it asks for the link
// to be approved, a headless Chromium signs in and approves, as the reader
// would. Every call must answer as the tour says.
func TestQuickStart(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the quick start needs %s: %v", tool, err)
		}
	}
	if ln, err := net.Listen("tcp", ":8080"); err != nil {
		t.Fatalf("the quick start serves on :8080, which is taken: %v", err)
	} else {
		ln.Close()
	}
	bin := t.TempDir()
	wrapper := "#!/bin/sh\nLINKBOX_TEST_RUN_MAIN=1 exec '" + os.Args[0] + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "linkbox"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", quickstart(t))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the server it starts goes with it
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LINKBOX_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "PATH="+bin+":"+os.Getenv("PATH"), "TMPDIR="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })

	var mu sync.Mutex
	var stdout strings.Builder
	approved := make(chan error, 1)
	scan := bufio.NewScanner(out)
	for scan.Scan() {
		line := scan.Text()
		mu.Lock()
		stdout.WriteString(line + "\n")
		mu.Unlock()
		if m := openLink.FindStringSubmatch(line); m != nil {
			go func() { approved <- approve(t, m[1]) }()
		}
	}
	err = cmd.Wait()
	if err != nil {
		t.Fatalf("the quick start failed: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	select {
	case err := <-approved:
		if err != nil {
			t.Fatalf("approving the link: %v", err)
		}
	default:
		t.Fatalf("the quick start never asked for the link to be approved:\n%s", stdout.String())
	}
	got := stdout.String()
	t.Logf("the tour said:\n%s", got)
	for _, want := range []string{`"status":"active"`, `"phone":"+25761234567"`, `"linked":true`, `-4567"`} {
		if !strings.Contains(got, want) {
			t.Errorf("the tour's output lacks %s:\n%s", want, got)
		}
	}
	if n := strings.Count(got, `{"success":true}`); n < 3 {
		t.Errorf("%d answers of {\"success\":true}, want the OTP's, its verification's and the notification's:\n%s", n, got)
	}
}

// approve signs in on the linking page at u as the tour's account and
// approves, in headless Chromium. The browser is then sent to the app's
// return URL, which does not exist here: the approval is already made.
func approve(t *testing.T, u string) error {
	b := apptest.Browser(t)
	return apptest.Do(b,
		chromedp.Navigate(u),
		chromedp.WaitVisible(chromedp.CSS("#phone")),
		chromedp.SendKeys(chromedp.CSS("#phone"), "+25761234567"),
		chromedp.SendKeys(chromedp.CSS("#password"), "your_secure_password"),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#approve")),
		chromedp.Click(chromedp.CSS("#approve")),
	)
}
