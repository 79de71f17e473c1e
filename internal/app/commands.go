package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/linkbox/linkbox/internal/config"
)

// command is one command of the command line, "linkbox NOUN VERB" (or a
// single word: serve, migrate). The help is generated from it, so a
// command cannot run without being documented.
type command struct {
	name    string   // "apps rotate-key"
	summary string   // one line for the usage
	args    []string // its positional arguments, in order ("ID"); each one required
	// define defines the command's flags on fs, each with a usage text,
	// and returns what runs the command with their values once parsed.
	define func(fs *flag.FlagSet) runFunc
	// config marks the command that binds the configuration's flags
	// (serve): its help lists them from config.Usage, with their
	// variables and defaults, which the flags alone do not know.
	config bool
}

// runFunc runs a command whose flags are parsed, with its positional
// arguments.
type runFunc func(ctx context.Context, e cmdEnv, args []string) error

// cmdEnv is what a command runs with: the configuration read from the
// environment, and the process's streams.
type cmdEnv struct {
	raw    config.Raw
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// commands is the command table: every surface appends its commands here,
// in the order the help lists them.
func commands() []command {
	return slices.Concat(serverCommands(), backupCommands(), accountsCommands(), connectCommands(), deviceLinksCommands(), numbersCommands())
}

// serverCommands are the commands of the process itself.
func serverCommands() []command {
	return append([]command{
		{name: "serve", summary: "run the server (the default)", define: serveCommand, config: true},
		{name: "migrate", summary: "apply database migrations and exit", define: migrateCommand},
		{name: "version", summary: "print the version, commit and toolchain of this build (also --version)", define: versionCommand},
		{name: "healthcheck", summary: "ask the server on LINKBOX_LISTEN whether it lives (or, --ready, can serve); exits 1 if not", define: healthcheckCommand},
	}, outboxCommands()...)
}

func serveCommand(fs *flag.FlagSet) runFunc {
	set := config.Raw{}
	set.BindFlags(fs)
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		maps.Copy(e.raw, set)
		return serve(ctx, e.raw, e.stderr)
	}
}

func migrateCommand(*flag.FlagSet) runFunc {
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return migrate(ctx, e.raw, e.stderr)
	}
}

// ErrUsage is matched (errors.Is) by the errors of a command line written
// wrong: an unknown command or flag, a positional argument missing or
// extra. main exits 2 for them, as the flag package does.
var ErrUsage = errors.New("bad command line")

// usageError is an error of the command line; its message is its cause's.
type usageError struct{ err error }

func (e usageError) Error() string   { return e.err.Error() }
func (e usageError) Unwrap() []error { return []error{e.err, ErrUsage} }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// isHelp reports whether word asks for help.
func isHelp(word string) bool {
	return word == "help" || word == "-h" || word == "--help" || word == "-help"
}

// dispatch runs the command args name from table: the longest match of
// its first two words. No command, or a flag first, is serve.
func dispatch(ctx context.Context, table []command, args []string, e cmdEnv) error {
	switch {
	case len(args) > 1 && args[0] == "help":
		return dispatch(ctx, table, append(slices.Clone(args[1:]), "--help"), e)
	case len(args) > 0 && isHelp(args[0]):
		fmt.Fprint(e.stdout, usage(table))
		return nil
	case len(args) == 1 && (args[0] == "--version" || args[0] == "-version"):
		args = []string{"version"}
	case len(args) == 0 || strings.HasPrefix(args[0], "-"):
		args = append([]string{"serve"}, args...)
	}
	if c, rest, ok := lookup(table, args); ok {
		return c.exec(ctx, e, rest)
	}
	noun := args[0]
	verbs := nounCommands(table, noun)
	if len(verbs) == 0 {
		fmt.Fprint(e.stderr, usage(table))
		return usagef("unknown command %q", noun)
	}
	if len(args) > 1 && isHelp(args[1]) {
		writeNoun(e.stdout, noun, verbs)
		return nil
	}
	writeNoun(e.stderr, noun, verbs)
	if len(args) == 1 {
		return usagef("%s: missing command", noun)
	}
	return usagef("%s: unknown command %q", noun, args[1])
}

// lookup finds the command args name: two words, else one.
func lookup(table []command, args []string) (command, []string, bool) {
	for n := min(2, len(args)); n > 0; n-- {
		name := strings.Join(args[:n], " ")
		if i := slices.IndexFunc(table, func(c command) bool { return c.name == name }); i >= 0 {
			return table[i], args[n:], true
		}
	}
	return command{}, nil, false
}

// nounCommands are the commands of table named "noun VERB".
func nounCommands(table []command, noun string) []command {
	var out []command
	for _, c := range table {
		if strings.HasPrefix(c.name, noun+" ") {
			out = append(out, c)
		}
	}
	return out
}

// exec parses args into c's flags and positional arguments, and runs c;
// --help prints c's help instead.
func (c command) exec(ctx context.Context, e cmdEnv, args []string) error {
	fs := c.flagSet()
	run := c.define(fs)
	pos, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, "Usage: ")
		c.write(e.stdout, fs)
		return nil
	}
	if err == nil {
		err = c.checkArgs(pos)
	}
	if err != nil {
		fmt.Fprint(e.stderr, "Usage: ")
		c.write(e.stderr, fs)
		return usageError{fmt.Errorf("%s: %w", c.name, err)}
	}
	return run(ctx, e, pos)
}

// flagSet is a new, empty flag set for c that prints nothing: exec writes
// the help and the error.
func (c command) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseArgs parses args into fs, flags before, between or after the
// positional arguments, which it returns.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// checkArgs checks that pos holds c's positional arguments, no more.
func (c command) checkArgs(pos []string) error {
	switch {
	case len(pos) < len(c.args):
		return fmt.Errorf("missing %s", c.args[len(pos)])
	case len(pos) > len(c.args):
		return fmt.Errorf("unexpected argument %q", pos[len(c.args)])
	}
	return nil
}

// synopsis is c's name with its positional arguments.
func (c command) synopsis() string { return strings.Join(append([]string{c.name}, c.args...), " ") }

// usage is the whole help: every command of table, then the configuration.
func usage(table []command) string {
	var b strings.Builder
	b.WriteString("Usage: linkbox [command] [flags]\n\nCommands:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, c := range table {
		fmt.Fprintf(tw, "  %s\t%s\n", c.synopsis(), c.summary)
	}
	fmt.Fprintf(tw, "  %s\t%s\n", "help [COMMAND]", "print this help, or a command's (as linkbox COMMAND --help)")
	tw.Flush()
	b.WriteString("\n\"linkbox NOUN --help\" (linkbox apps --help) lists a noun's commands with their flags.\n\n")
	b.WriteString("Configuration (environment variables; each is also a flag of serve):\n")
	b.WriteString(config.Usage())
	return b.String()
}

// writeNoun writes the help of noun's commands, each with its flags.
func writeNoun(w io.Writer, noun string, verbs []command) {
	fmt.Fprintf(w, "Usage: linkbox %s COMMAND [flags]\n", noun)
	for _, c := range verbs {
		fs := c.flagSet()
		c.define(fs)
		fmt.Fprintln(w)
		c.write(w, fs)
	}
}

// write writes c's synopsis, summary and flags, defined on fs: each with
// its placeholder in capitals, as the positional arguments are, its usage
// and its default.
func (c command) write(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "linkbox %s [flags]\n  %s\n", c.synopsis(), c.summary)
	if c.config {
		fmt.Fprint(w, "  its flags, each also an environment variable:\n"+config.Usage())
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		name, text := flag.UnquoteUsage(f)
		fmt.Fprintf(tw, "    --%s\t%s", strings.TrimSpace(f.Name+" "+strings.ToUpper(name)), text)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(tw, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(tw)
	})
	tw.Flush()
}
