// One scripted session through the Strata proxy with pgx v5 (Grafana's driver):
// SCRAM over TLS, catalog queries, simple and extended queries with parameters, a
// prepared statement reused, a transaction, COPY in and out, cancel of a long
// pg_sleep, a server error and recovery. Prints one "ok <step>" line per step.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func must(step string, err error) {
	if err != nil {
		fmt.Printf("FAIL %s: %v\n", step, err)
		os.Exit(1)
	}
	fmt.Printf("ok %s\n", step)
}

func check(step string, cond bool, got any) {
	if !cond {
		fmt.Printf("FAIL %s: got %v\n", step, got)
		os.Exit(1)
	}
	fmt.Printf("ok %s\n", step)
}

func main() {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, os.Getenv("STRATA_TEST_DSN"))
	must("connect scram tls", err)
	defer conn.Close(ctx)
	check("tls in use", conn.PgConn().Conn() != nil && fmt.Sprintf("%T", conn.PgConn().Conn()) == "*tls.Conn", fmt.Sprintf("%T", conn.PgConn().Conn()))

	// Grafana's health check and pickers, over the simple protocol as Grafana sends them.
	_, err = conn.Exec(ctx, "-- ping", pgx.QueryExecModeSimpleProtocol)
	must("grafana ping", err)
	var version int
	err = conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int/100 as version", pgx.QueryExecModeSimpleProtocol).Scan(&version)
	check("grafana version", err == nil && version >= 1500, version)
	var tables int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'pg_catalog'").Scan(&tables)
	check("catalog query", err == nil && tables > 50, tables)

	_, err = conn.Exec(ctx, "CREATE TABLE pgx_items (id int primary key, name text, at timestamptz)")
	must("create table", err)
	_, err = conn.Exec(ctx, "INSERT INTO pgx_items SELECT g, 'n' || g, now() FROM generate_series(1, 10) g; SELECT 1", pgx.QueryExecModeSimpleProtocol)
	must("simple multi-statement", err)

	var name string
	err = conn.QueryRow(ctx, "SELECT name FROM pgx_items WHERE id = $1", 3).Scan(&name)
	check("extended with parameter", err == nil && name == "n3", name)

	_, err = conn.Prepare(ctx, "by_id", "SELECT name FROM pgx_items WHERE id = $1")
	must("prepare", err)
	for i := 1; i <= 5; i++ {
		err = conn.QueryRow(ctx, "by_id", i).Scan(&name)
		check(fmt.Sprintf("prepared reuse %d", i), err == nil && name == fmt.Sprintf("n%d", i), name)
	}

	tx, err := conn.Begin(ctx)
	must("begin", err)
	_, err = tx.Exec(ctx, "UPDATE pgx_items SET name = 'changed' WHERE id = 1")
	must("update in transaction", err)
	must("rollback", tx.Rollback(ctx))
	err = conn.QueryRow(ctx, "SELECT name FROM pgx_items WHERE id = 1").Scan(&name)
	check("rolled back", err == nil && name == "n1", name)

	n, err := conn.CopyFrom(ctx, pgx.Identifier{"pgx_items"}, []string{"id", "name"}, pgx.CopyFromRows([][]any{{100, "copied"}, {101, "copied"}}))
	check("copy in", err == nil && n == 2, n)
	var out bytes.Buffer
	tag, err := conn.PgConn().CopyTo(ctx, &out, "COPY (SELECT id, name FROM pgx_items WHERE id >= 100 ORDER BY id) TO STDOUT")
	check("copy out", err == nil && tag.RowsAffected() == 2 && out.String() == "100\tcopied\n101\tcopied\n", out.String())

	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	started := time.Now()
	_, err = conn.Exec(cctx, "SELECT pg_sleep(30)")
	cancel()
	var pgErr *pgconn.PgError
	check("cancel pg_sleep", err != nil && time.Since(started) < 10*time.Second, err)
	// pgx reports the context error and closes the connection after sending the
	// CancelRequest; a new connection checks PostgreSQL really stopped sleeping.
	conn.Close(ctx)
	conn, err = pgx.Connect(ctx, os.Getenv("STRATA_TEST_DSN"))
	must("reconnect", err)
	sleeping := -1
	for i := 0; i < 30; i++ {
		err = conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'").Scan(&sleeping)
		if err != nil || sleeping == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	check("cancel reached PostgreSQL", err == nil && sleeping == 0, sleeping)

	_, err = conn.Exec(ctx, "SELECT * FROM no_such_table")
	check("server error", errors.As(err, &pgErr) && pgErr.Code == "42P01", err)
	var one int
	err = conn.QueryRow(ctx, "SELECT 1").Scan(&one)
	check("recovery", err == nil && one == 1, one)

	batch := &pgx.Batch{}
	for i := 1; i <= 5; i++ {
		batch.Queue("SELECT $1::int * 2", i)
	}
	results := conn.SendBatch(ctx, batch)
	sum := 0
	for i := 1; i <= 5; i++ {
		var v int
		if err := results.QueryRow().Scan(&v); err != nil {
			must("pipelined batch", err)
		}
		sum += v
	}
	must("close batch", results.Close())
	check("pipelined batch", sum == 30, sum)
	fmt.Println(strings.Repeat("-", 3), "done")
}
