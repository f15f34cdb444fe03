import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { pgIdent, pgQualified } from '@strata/core';
import type { PgNode } from '../router/sql-parser';
import { SqlStateError } from './contract';
import type { HotSession } from './hot-session';
import { partialColumns, type OccurrencePlan } from './plan';
import { replaceNode, selectOf } from './sql-snippets';

/**
 * Cold rows for a READ ONLY transaction (or a hot standby), which cannot create the
 * temporary tables the engine stages them in: each occurrence's rows become one array
 * parameter per column, read back with `unnest`, so the rewritten statement needs no
 * write at all. The rows are held in the proxy's memory, so this path is bounded:
 * past `maxBytes` of cold text the statement is refused with 54000 (narrow the time
 * range, or read outside a READ ONLY transaction).
 */
export interface InlineColumn {
  name: string;
  pgType: string;
}

/**
 * The temporary table an occurrence would have had: its columns, in the order `SELECT *`
 * reads them. `hotColumns`: the hot table's, when the statement's tier-state read
 * already has them (statement-tables.ts), saving a round trip.
 */
export async function stagedColumns(hot: HotSession, occ: OccurrencePlan, hotColumns?: InlineColumn[]): Promise<{ copied: InlineColumn[]; visible: InlineColumn[] }> {
  if (occ.mode === 'partial') {
    const cols = partialColumns(occ).map((c) => ({ name: c.name, pgType: c.pgType }));
    return { copied: cols, visible: cols };
  }
  const copied = occ.relation.columns.map((c) => ({ name: c.name, pgType: c.pgType }));
  if (occ.relation.mode === 'cold-only') return { copied, visible: copied };
  if (hotColumns) return { copied, visible: hotColumns };
  // Raw rows stand in for the hot table's: its column order (which can differ from the
  // spec's after evolution) is what `SELECT *` and the UNION ALL read.
  const r = await hot.query(
    `SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [pgQualified(occ.relation.schema, occ.relation.table)],
  );
  return { copied, visible: r.rows.map(([name, pgType]) => ({ name: name!, pgType: pgType! })) };
}

/** Reads a TabSeparated stream (PostgreSQL COPY text escapes) into one PostgreSQL array literal per column. */
export async function tsvToArrayLiterals(rows: Readable, columns: number, maxBytes: number): Promise<{ arrays: string[]; rows: number }> {
  const cells: string[][] = Array.from({ length: columns }, () => []);
  let bytes = 0;
  let rest = '';
  let count = 0;
  // Chunks split wherever the stream did: a character's bytes may straddle two of them.
  const utf8 = new StringDecoder('utf8');
  const takeLine = (line: string) => {
    const fields = line.split('\t');
    if (fields.length !== columns) throw new SqlStateError('XX000', `cold row with ${fields.length} fields where ${columns} were expected`);
    fields.forEach((f, i) => cells[i].push(f === '\\N' ? 'NULL' : `"${unescapeCopyText(f).replace(/[\\"]/g, (c) => `\\${c}`)}"`));
    count++;
  };
  for await (const chunk of rows as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > maxBytes) {
      rows.destroy();
      throw new SqlStateError(
        '54000',
        `more than ${Math.round(maxBytes / 1048576)} MiB of cold rows for a READ ONLY transaction`,
        undefined,
        'Narrow the time range, or read outside a READ ONLY transaction (cold rows are then staged in temporary tables).',
      );
    }
    const text = rest + utf8.write(chunk);
    const lines = text.split('\n');
    rest = lines.pop()!;
    for (const line of lines) takeLine(line);
  }
  rest += utf8.end();
  if (rest !== '') takeLine(rest);
  return { arrays: cells.map((c) => `{${c.join(',')}}`), rows: count };
}

const ESCAPES: Record<string, string> = { t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', v: '\v', '\\': '\\' };

export function unescapeCopyText(field: string): string {
  if (!field.includes('\\')) return field;
  return field.replace(/\\(.)/g, (_, c: string) => ESCAPES[c] ?? c);
}

/**
 * Replaces each read of `pg_temp.<table>` in `stmt` (the rewritten statement) with the
 * unnest of array parameters $first… (one per copied column), selected in the order the
 * temporary table would have had.
 */
export function inlineTempTable(stmt: PgNode, tempTable: string, columns: { copied: InlineColumn[]; visible: InlineColumn[] }, first: number): void {
  const args = columns.copied.map((c, i) => `$${first + i}::${c.pgType}[]`).join(', ');
  const names = columns.copied.map((c) => pgIdent(c.name)).join(', ');
  const visible = columns.visible.map((c) => pgIdent(c.name)).join(', ');
  const sub = selectOf(`SELECT ${visible} FROM unnest(${args}) AS ${pgIdent(tempTable)} (${names})`);
  const visit = (n: PgNode): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(visit);
    const rv = n.RangeVar;
    if (rv && rv.schemaname === 'pg_temp' && rv.relname === tempTable) {
      replaceNode(n, { RangeSubselect: { subquery: { SelectStmt: structuredClone(sub) }, alias: rv.alias ?? { aliasname: tempTable } } });
      return;
    }
    for (const v of Object.values(n)) visit(v);
  };
  visit(stmt);
}
