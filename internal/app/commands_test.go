package app

import (
	"context"
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/linkbox/linkbox/internal/config"
)

// runArgs runs the command line args with an empty environment, returning
// what it wrote to stdout and stderr.
func runArgs(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut strings.Builder
	err = Run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// flagsOf are the flags c defines.
func flagsOf(c command) []*flag.Flag {
	fs := c.flagSet()
	c.define(fs)
	var out []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { out = append(out, f) })
	return out
}

// TestCommandTable: every command is named by one or two words, once, and
// documents itself: a summary, and a usage text for every flag.
func TestCommandTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commands() {
		if words := strings.Fields(c.name); len(words) < 1 || len(words) > 2 || strings.Join(words, " ") != c.name {
			t.Errorf("command %q: want one or two words", c.name)
		}
		if seen[c.name] {
			t.Errorf("command %q registered twice", c.name)
		}
		seen[c.name] = true
		if c.summary == "" || strings.Contains(c.summary, "\n") {
			t.Errorf("%s: summary %q, want one line", c.name, c.summary)
		}
		for _, f := range flagsOf(c) {
			if _, text := flag.UnquoteUsage(f); strings.TrimSpace(text) == "" {
				t.Errorf("%s --%s: no usage text", c.name, f.Name)
			}
		}
	}
}

// TestHelp: help, --help and -h print the whole usage, every command of
// the table with its summary and positional arguments, then the
// configuration, and succeed.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		stdout, stderr, err := runArgs(t, args...)
		if err != nil || stderr != "" {
			t.Errorf("%q: %v, stderr %q; want success, nothing on stderr", args, err, stderr)
		}
		for _, c := range commands() {
			if !strings.Contains(stdout, "  "+c.synopsis()+" ") || !strings.Contains(stdout, c.summary+"\n") {
				t.Errorf("%q: usage lacks %q (%s)", args, c.synopsis(), c.summary)
			}
		}
		if !strings.HasSuffix(stdout, config.Usage()) {
			t.Errorf("%q: usage does not end with the configuration variables", args)
		}
	}
}

// TestCommandHelp: each command's --help (and -h, and help COMMAND)
// prints its synopsis and every flag, with its placeholder, and succeeds.
func TestCommandHelp(t *testing.T) {
	for _, c := range commands() {
		words := strings.Fields(c.name)
		for _, args := range [][]string{slices.Concat(words, []string{"--help"}), slices.Concat(words, []string{"-h"}), slices.Concat([]string{"help"}, words)} {
			stdout, stderr, err := runArgs(t, args...)
			if err != nil || stderr != "" {
				t.Errorf("%q: %v, stderr %q; want success, nothing on stderr", args, err, stderr)
				continue
			}
			if want := "Usage: linkbox " + c.synopsis() + " [flags]\n  " + c.summary + "\n"; !strings.HasPrefix(stdout, want) {
				t.Errorf("%q: help begins %q, want %q", args, stdout[:min(len(stdout), len(want))], want)
			}
			for _, f := range flagsOf(c) {
				name, _ := flag.UnquoteUsage(f)
				if want := strings.TrimSpace("--" + f.Name + " " + strings.ToUpper(name)); !c.config && !strings.Contains(stdout, want+" ") {
					t.Errorf("%q: help does not document %q", args, want)
				}
				if c.config && !strings.Contains(stdout, " --"+f.Name+" ") {
					t.Errorf("%q: help does not document --%s", args, f.Name)
				}
			}
		}
	}
}

// TestNounHelp: NOUN --help prints each of the noun's commands with every
// flag and its default.
func TestNounHelp(t *testing.T) {
	nouns := map[string]bool{}
	for _, c := range commands() {
		if noun, _, ok := strings.Cut(c.name, " "); ok {
			nouns[noun] = true
		}
	}
	if len(nouns) < 3 {
		t.Fatalf("nouns %v, want users, keys and apps at least", nouns)
	}
	for noun := range nouns {
		stdout, stderr, err := runArgs(t, noun, "--help")
		if err != nil || stderr != "" {
			t.Errorf("%s --help: %v, stderr %q; want success, nothing on stderr", noun, err, stderr)
		}
		for _, c := range nounCommands(commands(), noun) {
			if !strings.Contains(stdout, "\nlinkbox "+c.synopsis()+" [flags]\n  "+c.summary+"\n") {
				t.Errorf("%s --help lacks %s", noun, c.name)
			}
			for _, f := range flagsOf(c) {
				if !strings.Contains(stdout, "    --"+f.Name+" ") {
					t.Errorf("%s --help lacks %s --%s", noun, c.name, f.Name)
				}
			}
		}
	}
	stdout, _, _ := runArgs(t, "apps", "--help")
	if !strings.Contains(stdout, "--otp-ttl DURATION  how long the app's one-time codes live (30s to 1h) (default 5m0s)\n") {
		t.Errorf("apps --help does not give --otp-ttl's placeholder, usage and default:\n%s", stdout)
	}
}

// TestBadCommandLines: a command line written wrong is an ErrUsage that
// names the mistake, with the usage that applies on stderr, and runs
// nothing.
func TestBadCommandLines(t *testing.T) {
	for _, tt := range []struct {
		args       []string
		err, usage string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, "Commands:\n"},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`, "Commands:\n"},
		{[]string{"users"}, "users: missing command", "Usage: linkbox users COMMAND"},
		{[]string{"apps", "frobnicate"}, `apps: unknown command "frobnicate"`, "Usage: linkbox apps COMMAND"},
		{[]string{"apps", "--json"}, `apps: unknown command "--json"`, "Usage: linkbox apps COMMAND"},
		{[]string{"apps", "create", "--frobnicate"}, "apps create: flag provided but not defined: -frobnicate", "Usage: linkbox apps create [flags]"},
		{[]string{"apps", "create", "--otp-ttl", "soon"}, `apps create: invalid value "soon" for flag -otp-ttl`, "--otp-ttl DURATION"},
		{[]string{"serve", "--no-such-flag"}, "serve: flag provided but not defined: -no-such-flag", "Usage: linkbox serve [flags]"},
		{[]string{"--no-such-flag"}, "serve: flag provided but not defined: -no-such-flag", "Usage: linkbox serve [flags]"},
		{[]string{"migrate", "extra"}, `migrate: unexpected argument "extra"`, "Usage: linkbox migrate [flags]"},
		{[]string{"keys", "rotate", "now"}, `keys rotate: unexpected argument "now"`, "Usage: linkbox keys rotate [flags]"},
		{[]string{"apps", "rotate-key"}, "apps rotate-key: missing ID", "Usage: linkbox apps rotate-key ID [flags]"},
		{[]string{"apps", "rotate-key", "--json"}, "apps rotate-key: missing ID", "Usage: linkbox apps rotate-key ID [flags]"},
		{[]string{"apps", "delete", "app_1", "app_2"}, `apps delete: unexpected argument "app_2"`, "Usage: linkbox apps delete ID [flags]"},
	} {
		stdout, stderr, err := runArgs(t, tt.args...)
		if !errors.Is(err, ErrUsage) || err.Error() == "" || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%q: error %v, want ErrUsage %q", tt.args, err, tt.err)
		}
		if stdout != "" || !strings.Contains(stderr, tt.usage) {
			t.Errorf("%q: stdout %q, stderr %q; want nothing, and %q", tt.args, stdout, stderr, tt.usage)
		}
	}
}

// TestCommandDispatch: the words name a command by the longest match; its flags
// go before, between or after its positional arguments; no command, or a
// flag first, is serve.
func TestCommandDispatch(t *testing.T) {
	var ran string
	var gotArgs []string
	var gotFlag bool
	cmd := func(name string, args ...string) command {
		return command{name: name, summary: name, args: args, define: func(fs *flag.FlagSet) runFunc {
			v := fs.Bool("v", false, "verbose")
			return func(_ context.Context, _ cmdEnv, args []string) error {
				ran, gotArgs, gotFlag = name, args, *v
				return nil
			}
		}}
	}
	table := []command{cmd("serve"), cmd("x"), cmd("x y", "A", "B"), cmd("z w")}
	for _, tt := range []struct {
		args []string
		ran  string
		pos  []string
		v    bool
	}{
		{nil, "serve", nil, false},
		{[]string{"-v"}, "serve", nil, true},
		{[]string{"x"}, "x", nil, false},
		{[]string{"x", "y", "a", "b"}, "x y", []string{"a", "b"}, false},
		{[]string{"x", "y", "-v", "a", "b"}, "x y", []string{"a", "b"}, true},
		{[]string{"x", "y", "a", "-v", "b"}, "x y", []string{"a", "b"}, true},
		{[]string{"x", "y", "a", "b", "-v"}, "x y", []string{"a", "b"}, true},
		{[]string{"x", "y", "a", "--", "-b"}, "x y", []string{"a", "-b"}, false},
		{[]string{"z", "w", "-v=false"}, "z w", nil, false},
	} {
		ran, gotArgs, gotFlag = "", nil, false
		e := cmdEnv{stdout: io.Discard, stderr: io.Discard}
		if err := dispatch(context.Background(), table, tt.args, e); err != nil || ran != tt.ran ||
			!slices.Equal(gotArgs, tt.pos) || gotFlag != tt.v {
			t.Errorf("%q ran %q %q -v=%v (%v), want %q %q -v=%v", tt.args, ran, gotArgs, gotFlag, err, tt.ran, tt.pos, tt.v)
		}
	}
	for _, args := range [][]string{{"x", "z"}, {"z"}, {"x", "y", "a"}, {"x", "y", "a", "b", "c"}, {"z", "w", "--help"}} {
		ran = ""
		err := dispatch(context.Background(), table, args, cmdEnv{stdout: io.Discard, stderr: io.Discard})
		if ran != "" {
			t.Errorf("%q ran %q, want nothing run", args, ran)
		}
		if (err == nil) != (args[len(args)-1] == "--help") {
			t.Errorf("%q: %v", args, err)
		}
	}
}
