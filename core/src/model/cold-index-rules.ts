import type { PgType } from './pg-types';
import { COLD_INDEX_EXPRESSION_PATTERN, RESERVED_COLUMN_PREFIX } from './schema';
import type { ColdIndexSpec, TieredTableSpec } from './tiered-table';

/**
 * What spec.cold.indexes must satisfy beyond its schema, checked before any DDL runs so
 * that ClickHouse never refuses an index half-way through an apply: one indexed column
 * or expression over a column of the table; each type's arguments as ClickHouse takes
 * them; ngram and token bloom filters only on notNull text (ClickHouse refuses them on
 * Nullable columns, checked on 26.7), text indexes on text.
 */
export interface ColdIndexError {
  path: Array<string | number>;
  message: string;
}

export function coldIndexErrors(spec: TieredTableSpec, types: Map<string, PgType | undefined>, notAColumn: (name: string) => string): ColdIndexError[] {
  const errors: ColdIndexError[] = [];
  const firstAt = new Map<string, number>();
  (spec.cold.indexes ?? []).forEach((ix, i) => {
    const err = (field: string | undefined, message: string) => errors.push({ path: ['cold', 'indexes', i, ...(field ? [field] : [])], message });
    const dup = firstAt.get(ix.name);
    if (dup !== undefined) err('name', `duplicate index name ${JSON.stringify(ix.name)} (also cold.indexes[${dup}])`);
    else firstAt.set(ix.name, i);
    if (ix.name.startsWith(RESERVED_COLUMN_PREFIX)) err('name', `names starting with ${RESERVED_COLUMN_PREFIX} are reserved for Strata's own indexes`);

    const column = indexedColumn(ix);
    if ((ix.column === undefined) === (ix.expression === undefined)) {
      err(undefined, 'give either column or expression (lower(<column>) or upper(<column>))');
      return;
    }
    if (column === undefined || !types.has(column)) {
      err(ix.column !== undefined ? 'column' : 'expression', notAColumn(column ?? String(ix.expression)));
      return;
    }
    const t = types.get(column);
    const text = t?.kind === 'text' || t?.kind === 'varchar';
    const notNull = spec.columns.find((c) => c.name === column)?.notNull === true || column === spec.timeColumn;
    if (ix.expression !== undefined && t !== undefined && !text) err('expression', `${ix.expression}: ${JSON.stringify(column)} is ${t.pgName}, not text`);
    const p = ix.params ?? [];
    const want = (shape: string, ok: boolean) => {
      if (!ok) err('params', `${ix.type} takes ${shape}, got [${p.join(', ')}]`);
    };
    const isInt = (v: number | undefined, min: number, max: number) => v !== undefined && Number.isInteger(v) && v >= min && v <= max;
    switch (ix.type) {
      case 'minmax':
        want('no params', p.length === 0);
        break;
      case 'set':
        want('[maxRows] (an integer ≥ 0; 0 keeps every distinct value)', p.length === 1 && isInt(p[0], 0, 1e9));
        break;
      case 'bloom_filter':
        want('[] or [falsePositiveRate] (between 0 and 1)', p.length === 0 || (p.length === 1 && p[0] > 0 && p[0] < 1));
        break;
      case 'tokenbf_v1':
        want('[bytes, hashes, seed] (integers: bytes ≥ 1, hashes 1–32, seed ≥ 0)', p.length === 3 && isInt(p[0], 1, 1e9) && isInt(p[1], 1, 32) && isInt(p[2], 0, 2 ** 32));
        break;
      case 'ngrambf_v1':
        want('[n, bytes, hashes, seed] (integers: n 1–16, bytes ≥ 1, hashes 1–32, seed ≥ 0)', p.length === 4 && isInt(p[0], 1, 16) && isInt(p[1], 1, 1e9) && isInt(p[2], 1, 32) && isInt(p[3], 0, 2 ** 32));
        break;
      case 'text':
        want('no params (choose a tokenizer instead)', p.length === 0);
        break;
    }
    if (ix.tokenizer !== undefined && ix.type !== 'text') err('tokenizer', `only a text index has a tokenizer, not ${ix.type}`);
    if ((ix.type === 'tokenbf_v1' || ix.type === 'ngrambf_v1') && t !== undefined) {
      if (!text) err('type', `${ix.type} indexes text, and ${JSON.stringify(column)} is ${t.pgName}`);
      else if (!notNull) err('type', `${ix.type} needs a notNull column (ClickHouse refuses ngram and token bloom filters on Nullable ones): use type text, or a notNull column`);
    }
    if (ix.type === 'text' && t !== undefined && !text) err('type', `a text index indexes text, and ${JSON.stringify(column)} is ${t.pgName}`);
  });
  return errors;
}

/** The column an index reads: its column, or the one inside lower()/upper(). */
export function indexedColumn(ix: ColdIndexSpec): string | undefined {
  if (ix.column !== undefined) return ix.column;
  return ix.expression !== undefined ? new RegExp(COLD_INDEX_EXPRESSION_PATTERN).exec(ix.expression)?.[2] : undefined;
}
