package app

import (
	"bytes"
	"context"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	for _, c := range []struct {
		info *debug.BuildInfo
		want string
	}{
		{nil, "linkbox (no build info)"},
		{&debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "v1.2.0"}}, "linkbox v1.2.0 go1.27.3"},
		{&debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "v0.0.0-20261202213543-fd5128fac228+dirty"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "fd5128fac228aaaa"}, {Key: "vcs.modified", Value: "true"},
		}}, "linkbox v0.0.0-20261202213543-fd5128fac228+dirty go1.27.3"},
		{&debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "(devel)"}}, "linkbox (devel) go1.27.3"},
		{&debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "4ddf9eb0123456789abcdef"}, {Key: "vcs.time", Value: "2026-12-02T21:00:00Z"}, {Key: "vcs.modified", Value: "true"},
		}}, "linkbox (devel) 4ddf9eb01234+dirty 2026-12-02T21:00:00Z go1.27.3"},
	} {
		if got := version(c.info); got != c.want {
			t.Errorf("version = %q, want %q", got, c.want)
		}
	}
}

// TestVersionCommand: --version, -version and version print one line and
// succeed.
func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		var out bytes.Buffer
		err := dispatch(context.Background(), commands(), args, cmdEnv{stdout: &out, stderr: &out})
		if err != nil || !strings.HasPrefix(out.String(), "linkbox ") || strings.Count(out.String(), "\n") != 1 {
			t.Errorf("%v: %q, %v", args, out.String(), err)
		}
	}
}
