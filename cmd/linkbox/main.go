// Command linkbox is the Linkbox server and its admin commands.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/linkbox/linkbox/internal/app"
)

func main() {
	if err := app.Run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "linkbox:", err)
		os.Exit(1)
	}
}
