/** What one run of a statement gave: columns and text rows, or an error. */
export type Outcome =
  | { ok: true; fields: Array<{ name: string; typeOid: number }>; rows: Array<Array<string | null>> }
  | { ok: false; code: string; message: string };

/**
 * real and double precision: a sum's last bits depend on the order rows are added in
 * (PostgreSQL's own parallel plans differ there too). Not numeric: its digits are exact in
 * PostgreSQL whatever the order, so Strata's must be the same text.
 */
const FLOAT_OIDS = new Set([700, 701]);
const RELATIVE_TOLERANCE = 1e-9;

function sameValue(a: string | null, b: string | null, oid: number): boolean {
  if (a === b) return true;
  if (a === null || b === null || !FLOAT_OIDS.has(oid)) return false;
  const x = Number(a);
  const y = Number(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return false;
  if (x === y) return true;
  return Math.abs(x - y) <= RELATIVE_TOLERANCE * Math.max(Math.abs(x), Math.abs(y));
}

function sameRow(a: Array<string | null>, b: Array<string | null>, oids: number[]): boolean {
  return a.length === b.length && a.every((v, i) => sameValue(v, b[i], oids[i]));
}

/** undefined when equal; otherwise why not. `ordered`: the query's ORDER BY fixes row order. */
export function compareOutcomes(expected: Outcome, actual: Outcome, ordered: boolean): string | undefined {
  if (!expected.ok || !actual.ok) {
    if (!expected.ok && !actual.ok && expected.code === actual.code) return undefined;
    return !expected.ok ? `reference failed (${expected.code}) but Strata ${actual.ok ? 'answered' : `failed (${actual.code})`}` : `Strata failed: ${actual.ok ? '' : `${actual.code} ${actual.message}`}`;
  }
  const names = (o: typeof expected) => o.fields.map((f) => f.name).join(', ');
  const oids = (o: typeof expected) => o.fields.map((f) => f.typeOid).join(', ');
  if (names(expected) !== names(actual)) return `column names differ: [${names(expected)}] vs [${names(actual)}]`;
  if (oids(expected) !== oids(actual)) return `column types differ: [${oids(expected)}] vs [${oids(actual)}]`;
  if (expected.rows.length !== actual.rows.length) return `row counts differ: ${expected.rows.length} vs ${actual.rows.length}`;
  const typeOids = expected.fields.map((f) => f.typeOid);
  const key = (r: Array<string | null>) => JSON.stringify(r);
  const e = ordered ? expected.rows : [...expected.rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const a = ordered ? actual.rows : [...actual.rows].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
  for (let i = 0; i < e.length; i++) {
    if (!sameRow(e[i], a[i], typeOids)) return `row ${i + 1} differs${ordered ? '' : ' (compared as multisets)'}: ${key(e[i])} vs ${key(a[i])}`;
  }
  return undefined;
}

export function formatOutcome(o: Outcome, maxRows = 20): string {
  if (!o.ok) return `  ERROR ${o.code}: ${o.message}`;
  const lines = [`  columns: ${o.fields.map((f) => `${f.name}(${f.typeOid})`).join(', ')}`];
  for (const r of o.rows.slice(0, maxRows)) lines.push('  ' + r.map((v) => (v === null ? 'NULL' : v)).join(' | '));
  if (o.rows.length > maxRows) lines.push(`  … ${o.rows.length - maxRows} more rows`);
  return lines.join('\n');
}
