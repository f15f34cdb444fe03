-- One scripted psql session through the Strata proxy (run with ON_ERROR_STOP off: the
-- server error is part of the script). psql uses the simple protocol; \bind (psql 16+)
-- is not in psql 15, so parameters go through PREPARE/EXECUTE. Cancel is tested by
-- interrupting a separate psql (SIGINT makes psql send CancelRequest).
\echo step catalog
\dt pg_catalog.pg_class
SELECT count(*) > 50 AS catalog_ok FROM information_schema.tables WHERE table_schema = 'pg_catalog';
\echo step simple
CREATE TABLE psql_items (id int primary key, name text); INSERT INTO psql_items SELECT g, 'n' || g FROM generate_series(1, 10) g;
\echo step prepared
PREPARE by_id(int) AS SELECT name FROM psql_items WHERE id = $1;
EXECUTE by_id(2);
EXECUTE by_id(3);
\echo step transaction
BEGIN;
UPDATE psql_items SET name = 'changed' WHERE id = 1;
ROLLBACK;
SELECT name AS after_rollback FROM psql_items WHERE id = 1;
\echo step copy
\copy psql_items FROM 'COPY_IN_FILE'
\copy (SELECT * FROM psql_items WHERE id >= 500 ORDER BY id) TO 'COPY_OUT_FILE'
\echo step error
SELECT * FROM no_such_table;
\echo step recovery
SELECT 41 + 1 AS recovered;
\conninfo
