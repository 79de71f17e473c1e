// Command linkbox is the Linkbox server and its admin commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/linkbox/linkbox/internal/app"
)

func main() {
	if err := app.Run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "linkbox:", err)
		if errors.Is(err, app.ErrUsage) {
			os.Exit(2) // as the flag package does for a command line written wrong
		}
		os.Exit(1)
	}
}
