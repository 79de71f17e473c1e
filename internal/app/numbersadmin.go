package app

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/linkbox/linkbox/internal/numbers"
)

// importColumns are the columns of a numbers import file, in order; the
// last three may be left empty.
var importColumns = []string{"number", "country", "operator", "services", "gateway", "sim"}

func numbersImport(fs *flag.FlagSet) runFunc {
	file := fs.String("file", "", "a CSV file at `PATH` (- for standard input): a header line number,country,operator,services,gateway,sim, then a number per line, services separated by spaces (required)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		if *file == "" {
			return fmt.Errorf("%w: numbers import: --file is required", ErrUsage)
		}
		var r io.Reader = e.stdin
		if *file != "-" {
			f, err := os.Open(*file)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		list, err := readNumbers(r)
		if err != nil {
			return fmt.Errorf("numbers import: %s: %w", *file, err)
		}
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			if _, err := srv.Numbers.AddNumbers(ctx, list); err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]int{"added": len(list)}, [][2]string{{"added", strconv.Itoa(len(list))}})
		})
	}
}

// readNumbers reads an import file: its header must name importColumns.
func readNumbers(r io.Reader) ([]numbers.Number, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(importColumns)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty file: want a header line " + strings.Join(importColumns, ","))
	}
	if err != nil {
		return nil, err
	}
	if strings.Join(header, ",") != strings.Join(importColumns, ",") {
		return nil, fmt.Errorf("header %q: want %s", strings.Join(header, ","), strings.Join(importColumns, ","))
	}
	var out []numbers.Number
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		n := numbers.Number{Number: rec[0], Country: strings.ToUpper(rec[1]), Operator: rec[2], Services: strings.Fields(rec[3]), GatewayID: rec[4]}
		if rec[5] != "" {
			if n.SIM, err = strconv.Atoi(rec[5]); err != nil || n.SIM < 1 {
				line, _ := cr.FieldPos(5)
				return nil, fmt.Errorf("line %d: sim %q: want a slot number 1, 2, …", line, rec[5])
			}
		}
		out = append(out, n)
	}
}

// errUnsound is credits audit's failure: the audit found a fault.
var errUnsound = errors.New("credits audit: the store is not sound")

func creditsAudit(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			a, err := srv.Numbers.Check(ctx)
			if err != nil {
				return err
			}
			err = printResult(e.stdout, *asJSON, a, [][2]string{{"accounts", strconv.Itoa(a.Accounts)}, {"credits", strconv.FormatInt(a.Credits, 10)},
				{"live rentals", strconv.Itoa(a.Rentals)}, {"unbalanced accounts", strings.Join(a.Unbalanced, " ")},
				{"numbers held twice", strings.Join(a.DoubleRented, " ")}})
			if err == nil && !a.Sound() {
				err = errUnsound
			}
			return err
		})
	}
}
