"""One scripted session through the Strata proxy with psycopg2 (libpq underneath)."""
import io
import os
import sys
import threading
import time

import psycopg2
import psycopg2.errors


def check(step, cond, got=None):
    if not cond:
        print(f"FAIL {step}: got {got!r}")
        sys.exit(1)
    print(f"ok {step}")


conn = psycopg2.connect(os.environ["STRATA_TEST_DSN"])
check("connect scram tls", conn.get_parameter_status("server_version") is not None)
cur = conn.cursor()
cur.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'pg_catalog'")
check("catalog query", cur.fetchone()[0] > 50)
conn.rollback()
conn.autocommit = True
cur.execute("CREATE TABLE py_items (id int primary key, name text); INSERT INTO py_items SELECT g, 'n' || g FROM generate_series(1, 10) g")
check("simple multi-statement", True)
cur.execute("SELECT name FROM py_items WHERE id = %s", (5,))
check("query with parameter", cur.fetchone()[0] == "n5")
cur.execute("PREPARE by_id(int) AS SELECT name FROM py_items WHERE id = $1")
for i in range(1, 4):
    cur.execute("EXECUTE by_id(%s)", (i,))
    check(f"prepared reuse {i}", cur.fetchone()[0] == f"n{i}")
conn.autocommit = False
cur.execute("UPDATE py_items SET name = 'changed' WHERE id = 1")
conn.rollback()
cur.execute("SELECT name FROM py_items WHERE id = 1")
check("transaction rolled back", cur.fetchone()[0] == "n1")
conn.commit()
cur.copy_expert("COPY py_items FROM STDIN", io.StringIO("400\tcopied\n401\tcopied\n"))
conn.commit()
out = io.StringIO()
cur.copy_expert("COPY (SELECT * FROM py_items WHERE id >= 400 ORDER BY id) TO STDOUT", out)
check("copy in and out", out.getvalue() == "400\tcopied\n401\tcopied\n", out.getvalue())
conn.commit()
threading.Timer(0.5, conn.cancel).start()
started = time.time()
try:
    cur.execute("SELECT pg_sleep(30)")
    check("cancel pg_sleep", False, "no error")
except psycopg2.errors.QueryCanceled as e:
    check("cancel pg_sleep", time.time() - started < 10, e.pgcode)
conn.rollback()
try:
    cur.execute("SELECT * FROM no_such_table")
    check("server error", False)
except psycopg2.errors.UndefinedTable as e:
    check("server error", e.pgcode == "42P01")
conn.rollback()
cur.execute("SELECT 1")
check("recovery", cur.fetchone()[0] == 1)
conn.close()
print("--- done")
