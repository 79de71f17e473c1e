package app

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

func versionCommand(*flag.FlagSet) runFunc {
	return func(_ context.Context, e cmdEnv, _ []string) error {
		info, _ := debug.ReadBuildInfo()
		_, err := fmt.Fprintln(e.stdout, version(info))
		return err
	}
}

// version names the build from its build info: the module version, and the
// toolchain. A version of "(devel)" (a build that did not stamp one) is
// followed by the commit it was built from, with "+dirty" when the work
// tree had changes, and its time, when known; a stamped version (a tag, or
// a pseudo-version) already names them.
func version(info *debug.BuildInfo) string {
	if info == nil {
		return "linkbox (no build info)"
	}
	v := "linkbox " + info.Main.Version
	if info.Main.Version != "(devel)" {
		return v + " " + info.GoVersion
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		v += " " + rev[:min(12, len(rev))]
		if settings["vcs.modified"] == "true" {
			v += "+dirty"
		}
		if t := settings["vcs.time"]; t != "" {
			v += " " + t
		}
	}
	return v + " " + info.GoVersion
}
