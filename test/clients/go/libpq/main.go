// One scripted session through the Strata proxy with lib/pq (database/sql).
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/lib/pq"
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
	db, err := sql.Open("postgres", os.Getenv("STRATA_TEST_DSN"))
	must("open", err)
	defer db.Close()
	db.SetMaxOpenConns(2)
	must("connect scram tls", db.PingContext(ctx))

	var tables int
	err = db.QueryRow("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'pg_catalog'").Scan(&tables)
	check("catalog query", err == nil && tables > 50, tables)
	var ssl bool
	err = db.QueryRow("SELECT 1").Scan(new(int))
	must("simple query", err)
	_ = ssl

	_, err = db.Exec("CREATE TABLE pq_items (id int primary key, name text)")
	must("create table", err)
	_, err = db.Exec("INSERT INTO pq_items SELECT g, 'n' || g FROM generate_series(1, 10) g")
	must("insert", err)
	var name string
	err = db.QueryRow("SELECT name FROM pq_items WHERE id = $1", 4).Scan(&name)
	check("extended with parameter", err == nil && name == "n4", name)

	stmt, err := db.Prepare("SELECT name FROM pq_items WHERE id = $1")
	must("prepare", err)
	for i := 1; i <= 5; i++ {
		err = stmt.QueryRow(i).Scan(&name)
		check(fmt.Sprintf("prepared reuse %d", i), err == nil && name == fmt.Sprintf("n%d", i), name)
	}
	stmt.Close()

	tx, err := db.Begin()
	must("begin", err)
	_, err = tx.Exec("UPDATE pq_items SET name = 'changed' WHERE id = 1")
	must("update in transaction", err)
	must("rollback", tx.Rollback())
	err = db.QueryRow("SELECT name FROM pq_items WHERE id = 1").Scan(&name)
	check("rolled back", err == nil && name == "n1", name)

	tx, err = db.Begin()
	must("copy begin", err)
	copyStmt, err := tx.Prepare(pq.CopyIn("pq_items", "id", "name"))
	must("copy in prepare", err)
	for i := 200; i < 210; i++ {
		_, err = copyStmt.Exec(i, "copied")
		if err != nil {
			must("copy in row", err)
		}
	}
	_, err = copyStmt.Exec()
	must("copy in", err)
	must("copy close", copyStmt.Close())
	must("copy commit", tx.Commit())
	var copied int
	err = db.QueryRow("SELECT count(*) FROM pq_items WHERE name = 'copied'").Scan(&copied)
	check("copy in rows", err == nil && copied == 10, copied)

	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	started := time.Now()
	_, err = db.ExecContext(cctx, "SELECT pg_sleep(30)")
	cancel()
	check("cancel pg_sleep", err != nil && time.Since(started) < 10*time.Second, err)

	_, err = db.Exec("SELECT * FROM no_such_table")
	var pqErr *pq.Error
	check("server error", errors.As(err, &pqErr) && pqErr.Code == "42P01", err)
	var one int
	err = db.QueryRow("SELECT 1").Scan(&one)
	check("recovery", err == nil && one == 1, one)
	fmt.Println("--- done")
}
