package app

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/linkbox/linkbox/internal/outbox"
)

// outboxCommands let an operator see what is waiting to go out, and send a
// given-up delivery again once its receiver is fixed.
func outboxCommands() []command {
	return []command{
		{name: "outbox list", summary: "list the outbox's messages (SMS, webhooks), newest first, payloads left out", define: outboxList},
		{name: "outbox replay", summary: "deliver a given-up message again, with its id and payload", args: []string{"ID"}, define: outboxReplay},
	}
}

func outboxList(fs *flag.FlagSet) runFunc {
	var f outbox.Filter
	fs.StringVar(&f.State, "state", "", "only messages in this `state`: pending, delivered or given_up")
	fs.StringVar(&f.Kind, "kind", "", "only messages of this `kind`: sms or webhook")
	fs.IntVar(&f.Limit, "limit", 100, "at most this many messages")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			list, err := srv.outbox.List(ctx, f)
			if err != nil {
				return err
			}
			if *asJSON {
				return printResult(e.stdout, true, map[string]any{"messages": list}, nil)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tSTATE\tATTEMPTS\tCREATED\tLAST ERROR")
			for _, m := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, m.Kind, m.State, m.Attempts, m.Created.Format(time.RFC3339), m.LastError)
			}
			return tw.Flush()
		})
	}
}

func outboxReplay(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		id := args[0]
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			if err := srv.outbox.Replay(ctx, id); err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]any{"id": id, "replayed": true},
				[][2]string{{"replayed", id + "   (the serving instances deliver it within a second)"}})
		})
	}
}
