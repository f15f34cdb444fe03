// The differential corpus through pgx v5 (Grafana's driver since 12.4), at the
// connection level so every value stays PostgreSQL's text output:
//
//	pgx-corpus DSN < entries.json > outcomes.jsonl
//
// stdin: [{"name": …, "statements": [{"sql": …, "params": [..] | null}]}]. A statement
// with params == null goes over the simple protocol (as Grafana sends panel queries);
// with params (possibly empty) over the extended protocol with text parameters of
// unspecified type and text results. One JSON line per entry: the last statement's
// columns (name, type OID) and rows, or its SQLSTATE.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgconn"
)

type statement struct {
	SQL    string    `json:"sql"`
	Params []*string `json:"params"`
}

type entry struct {
	Name       string      `json:"name"`
	Statements []statement `json:"statements"`
}

type field struct {
	Name    string `json:"name"`
	TypeOid uint32 `json:"typeOid"`
}

type outcome struct {
	Name    string      `json:"name"`
	OK      bool        `json:"ok"`
	Fields  []field     `json:"fields,omitempty"`
	Rows    [][]*string `json:"rows,omitempty"`
	Code    string      `json:"code,omitempty"`
	Message string      `json:"message,omitempty"`
}

// readResult reads one result. Not pgconn's ResultReader.Read: it keeps the field
// descriptions only when a row arrives, so an empty result would lose its columns.
func readResult(name string, rr *pgconn.ResultReader) outcome {
	o := outcome{Name: name, OK: true, Fields: []field{}, Rows: [][]*string{}}
	for _, f := range rr.FieldDescriptions() {
		o.Fields = append(o.Fields, field{Name: f.Name, TypeOid: f.DataTypeOID})
	}
	for rr.NextRow() {
		values := rr.Values()
		out := make([]*string, len(values))
		for i, v := range values {
			if v != nil {
				s := string(v)
				out[i] = &s
			}
		}
		o.Rows = append(o.Rows, out)
	}
	if _, err := rr.Close(); err != nil {
		return failure(name, err)
	}
	return o
}

func failure(name string, err error) outcome {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return outcome{Name: name, Code: pgErr.Code, Message: pgErr.Message}
	}
	return outcome{Name: name, Code: "XX000", Message: err.Error()}
}

func run(ctx context.Context, conn *pgconn.PgConn, e entry) outcome {
	var last outcome
	for _, s := range e.Statements {
		if s.Params == nil {
			mrr := conn.Exec(ctx, s.SQL)
			failed := false
			for mrr.NextResult() {
				if o := readResult(e.Name, mrr.ResultReader()); !failed {
					last = o
					failed = !o.OK
				}
			}
			if err := mrr.Close(); err != nil {
				return failure(e.Name, err)
			}
			if failed {
				return last
			}
			continue
		}
		values := make([][]byte, len(s.Params))
		for i, p := range s.Params {
			if p != nil {
				values[i] = []byte(*p)
			}
		}
		last = readResult(e.Name, conn.ExecParams(ctx, s.SQL, values, nil, nil, []int16{0}))
		if !last.OK {
			return last
		}
	}
	return last
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pgx-corpus DSN < entries.json")
		os.Exit(2)
	}
	ctx := context.Background()
	var entries []entry
	if err := json.NewDecoder(os.Stdin).Decode(&entries); err != nil {
		fmt.Fprintln(os.Stderr, "reading entries:", err)
		os.Exit(2)
	}
	conn, err := pgconn.Connect(ctx, os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	defer conn.Close(ctx)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for _, e := range entries {
		if err := enc.Encode(run(ctx, conn, e)); err != nil {
			fmt.Fprintln(os.Stderr, "writing:", err)
			os.Exit(1)
		}
	}
}
