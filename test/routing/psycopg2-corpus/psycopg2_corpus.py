"""The differential corpus through psycopg2 in its default mode (not autocommit):

    python3 psycopg2_corpus.py DSN < entries > outcomes.jsonl

stdin: one entry a line, `name<TAB>base64(UTF-8 SQL)`. Each entry is one execute() of
its whole text, as an application sends it: psycopg2 opens a transaction block first
(BEGIN) and the entry ends with commit(), or rollback() after an error. One JSON line per
entry: the last statement's columns (name, type OID) and rows as PostgreSQL's text
output, or its SQLSTATE.
"""
import base64
import json
import sys

import psycopg2
import psycopg2.extensions


def as_text(value, _cursor):
    return value


def main():
    if len(sys.argv) != 2:
        print("usage: psycopg2_corpus.py DSN < entries", file=sys.stderr)
        sys.exit(2)
    conn = psycopg2.connect(sys.argv[1])
    # Every registered type's values stay PostgreSQL's text (unregistered ones already do).
    oids = tuple(psycopg2.extensions.string_types.keys())
    psycopg2.extensions.register_type(psycopg2.extensions.new_type(oids, "STRATA_TEXT", as_text), conn)
    out = sys.stdout
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        name, encoded = line.split("\t", 1)
        sql = base64.b64decode(encoded).decode("utf-8")
        cur = conn.cursor()
        try:
            cur.execute(sql)
            fields = [{"name": d.name, "typeOid": d.type_code} for d in (cur.description or [])]
            rows = [list(r) for r in cur.fetchall()] if cur.description else []
            conn.commit()
            outcome = {"name": name, "ok": True, "fields": fields, "rows": rows}
        except psycopg2.Error as e:
            conn.rollback()
            outcome = {"name": name, "ok": False, "code": e.pgcode or "XX000", "message": (e.pgerror or str(e)).strip()}
        finally:
            cur.close()
        out.write(json.dumps(outcome) + "\n")
    out.flush()
    conn.close()


main()
