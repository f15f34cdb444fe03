import { pgIdent } from '@strata/core';
import { deparseStatement, type PgNode } from '../router/sql-parser';
import { visit } from '../translate/ast';
import { columnOf, isTextKind, type ColumnScope } from '../translate/column-scope';
import { ROWS_COLUMN } from './partial-aggregate';
import type { Instant } from '../translate/instant';
import { occurrenceRange, partialColumns, type OccurrencePlan, type PartialTableColumn } from './plan';
import { NO_HOT_ROWS } from './whole-split';
import { selectOf } from './sql-snippets';
import type { PipelinedStatement } from './hot-session';

/**
 * The hot side of a split partial read, aggregated by PostgreSQL while ClickHouse reads
 * the cold side (issue 14, overhead: PostgreSQL's share of a split read — the hot day's
 * rows, 15 ms for 43,200 — used to start only after ClickHouse answered).
 *
 * The derived table the statement reads is the hot rows, each its own partial, UNION ALL
 * the cold partials (plan.ts). Here the hot branch is instead grouped into the same
 * partial table the cold partials are copied into, by one INSERT … SELECT sent before the
 * cold query (the session's connection runs it while ClickHouse computes), and the derived
 * table reads that table alone. Exact for the same reason cold partials are:
 *   - counts and sums add up, min/max take the least / greatest (PostgreSQL's own
 *     aggregates over the hot rows: NaN, -0, NULL as the statement's own would see them);
 *   - groups are never coarser than the statement's: time is floored to the granularity
 *     its buckets are constant on (date_bin, UTC-aligned as ClickHouse floors; instants
 *     before 1970 or infinite stay as they are), other keys are grouped by identity —
 *     text by its bytes (COLLATE "C": a nondeterministic collation would merge 'abc' and
 *     'ABC', which `GROUP BY host COLLATE "C"` keeps apart), keys whose equality is not
 *     identity (floats: -0 = 0; numeric: 1.0 = 1.00; jsonb) are not pre-aggregated;
 *   - a group exists only with a hot row in it (HAVING count(*) > 0), so a statement
 *     whose GROUP BY names no column gets no group from an empty hot side.
 * Not where no temporary table may be created (READ ONLY, a role without TEMPORARY:
 * inline-cold-rows.ts), nor when
 * the hot branch's WHERE reads anything but the table's own columns (a correlated
 * reference would not resolve in a statement of its own). Whole aggregates split at W
 * have their later buckets computed the same way, grouped as the statement groups
 * (hotWholesSql).
 */

/**
 * Around the hot partials' INSERT: hashed aggregation, by `enable_sort = off` for that
 * statement alone. PostgreSQL estimates a time bucket's groups as the time column's
 * distinct values (every row: 43,200 groups for a day of the bench's rows, which are 24
 * hours × 3 apps = 75), so it sorts every hot row before grouping them: 24–35 ms where
 * hashing them takes 12–14 (43,200 rows, measured alone in one session, EXPLAIN ANALYZE).
 * Set and put back as SET LOCAL through a placeholder of the transaction's own, so
 * whatever the client's block had set is what its later statements see; an error aborts
 * the transaction, which undoes both. Not around a whole split's INSERT (hotWholesSql):
 * planned without sorts, its percentiles made p95-hourly-7d 1,178 ms at 10M rows (74–110).
 */
const HASHED_HOT_AGGREGATION: readonly [string, string] = [
  "SELECT set_config('strata.enable_sort_before', current_setting('enable_sort'), true), set_config('enable_sort', 'off', true)",
  "SELECT set_config('enable_sort', current_setting('strata.enable_sort_before'), true)",
];

/** Keys grouped as they are: PostgreSQL's equality on them is identity. */
const IDENTITY_KINDS = new Set(['timestamptz', 'timestamp', 'date', 'int8', 'int4', 'int2', 'bool', 'uuid']);

/**
 * Less hot time than this in the statement's range, and the hot side is not worth running
 * beside ClickHouse: it then costs a temporary table and a COPY round trip more than a
 * small cold answer inlined (small-cold-answer.ts) and saves less (the bench's density,
 * 30 rows a minute: 1,800 rows an hour, 0.6 ms of PostgreSQL; a day, 15 ms).
 */
const MIN_HOT_SPAN: Instant = 3_600_000_000n;

/**
 * The INSERT that fills the occurrence's partial table with its hot rows' partials, or
 * undefined when not exact or not worth it (`w`: the watermark; `now`: the clock, in µs).
 */
export function hotPartials(occ: OccurrencePlan, values: Instant[], w: Instant, now: Instant): string | undefined {
  const range = occurrenceRange(occ, values);
  const hi = range.hi < now ? range.hi : now;
  const lo = range.lo > w ? range.lo : w;
  if (hi - lo < MIN_HOT_SPAN) return undefined;
  return occ.shipHot ? hotWholesSql(occ) : hotPartialsSql(occ);
}

/**
 * The statements that run hotPartials' INSERT (`insert`, with the client's parameters):
 * the partials' hashed (HASHED_HOT_AGGREGATION), a whole split's as it is.
 */
export function hotPartialsStatements(occ: OccurrencePlan, insert: PipelinedStatement): PipelinedStatement[] {
  return occ.shipHot ? [insert] : [{ sql: HASHED_HOT_AGGREGATION[0] }, insert, { sql: HASHED_HOT_AGGREGATION[1] }];
}

function hotPartialsSql(occ: OccurrencePlan): string | undefined {
  const branch = occ.hotBranch;
  const shape = occ.partial;
  if (!branch || !shape || occ.shipHot || shape.wholes.length > 0 || !ownColumnsOnly(occ, branch.select)) return undefined;
  const rel = occ.relation;
  const kindOf = (name: string) => rel.columns.find((c) => c.name === name)?.kind;
  const keys: string[] = [];
  const values: string[] = [];
  const columns = partialColumns(occ);
  for (const c of columns) {
    const h = `h.${pgIdent(c.name)}`;
    if (c.chKey !== undefined) {
      const kind = kindOf(c.name);
      if (c.name === rel.timeColumn && shape.timeGranularity !== undefined && shape.timeGranularity > 1n) {
        if (kind !== 'timestamptz' && kind !== 'timestamp') return undefined;
        keys.push(flooredHotTime(h, shape.timeGranularity, kind === 'timestamptz' ? 'timestamptz' : 'timestamp'));
      } else if (isTextKind(kind)) keys.push(`${h} COLLATE "C"`);
      else if (kind !== undefined && IDENTITY_KINDS.has(kind)) keys.push(h);
      else return undefined;
      continue;
    }
    const combined = combinedPartial(c.name, occ, h);
    if (!combined) return undefined;
    values.push(combined);
  }
  const select = `SELECT ${[...keys, ...values].join(', ')} FROM (${deparseStatement({ SelectStmt: branch.select })}) AS h`;
  const groupBy = keys.length > 0 ? ` GROUP BY ${keys.map((_, i) => i + 1).join(', ')}` : '';
  return intoPartialTable(occ, columns, `${select}${groupBy} HAVING count(*) > 0`);
}

/**
 * A whole split's later buckets (whole-split.ts), computed by PostgreSQL while ClickHouse
 * reads: PostgreSQL's side of the split is the hot rows whose bucket is past B(W⁻), each
 * group of them a group of the statement's own that holds no cold row. Their whole
 * aggregates used to be computed by the statement itself after ClickHouse answered
 * (p95-hourly-7d: 23 hot hours, ~41,000 rows sorted for percentile_cont). Here one INSERT
 * groups those rows as the statement does — by its bucket expression and its plain group
 * columns, under their own collations, so each row inserted is exactly one of the
 * statement's groups — and stores, like a ClickHouse row of the split:
 *   - the time column: min(time), an instant of the group, which the statement's bucket
 *     maps to the group's bucket again; the other group columns as grouped (a float group
 *     of -0 and 0 shows either, as PostgreSQL's own grouping does: whichever it met first);
 *   - the partials combined as hotPartialsSql combines them;
 *   - each whole aggregate: the statement's own over the raw inputs (splitReplacement's),
 *     which the statement then reads through `coalesce(min(_strata_whole_k), …)` with no
 *     raw input left: NULL where PostgreSQL's value is NULL, as before.
 */
function hotWholesSql(occ: OccurrencePlan): string | undefined {
  const ship = occ.shipHot!;
  const split = occ.partial?.split;
  // No split (W outside ClickHouse's range): every hot row ships, PostgreSQL reads none.
  if (!split || !ship.above || !ship.hotSide || !ownColumnsOnly(occ, ship.hotSide)) return undefined;
  const timeColumn = occ.relation.timeColumn;
  const alias = pgIdent(occ.refName);
  const ref = (name: string) => `${alias}.${pgIdent(name)}`;
  const targets: string[] = [];
  const owns = new Map<number, PgNode>();
  const columns = partialColumns(occ);
  for (const c of columns) {
    const own = split.own.get(c.name);
    if (c.chKey !== undefined) targets.push(c.name === timeColumn ? `min(${ref(c.name)})` : ref(c.name));
    else if (own) owns.set(targets.push('NULL') - 1, own);
    else {
      const combined = combinedPartial(c.name, occ, ref(c.name));
      if (!combined) return undefined;
      targets.push(combined);
    }
  }
  // Named by the statement's own alias: its bucket expression and aggregates read the columns as it does.
  const groups = ['NULL', ...(occ.partial?.groupColumns ?? []).map(ref)];
  const select = selectOf(`SELECT ${targets.join(', ')} FROM (SELECT 1) AS ${alias} GROUP BY ${groups.join(', ')} HAVING count(*) > 0`);
  for (const [i, own] of owns) select.targetList[i].ResTarget.val = structuredClone(own);
  select.groupClause[0] = structuredClone(split.bucket);
  select.fromClause[0].RangeSubselect.subquery = { SelectStmt: structuredClone(ship.hotSide) };
  return intoPartialTable(occ, columns, deparseStatement({ SelectStmt: select }));
}

/** The INSERT of `select`'s rows into the occurrence's partial table, its columns in `columns`' order. */
function intoPartialTable(occ: OccurrencePlan, columns: PartialTableColumn[], select: string): string {
  return `INSERT INTO pg_temp.${pgIdent(occ.tempTable)} (${columns.map((c) => pgIdent(c.name)).join(', ')}) ${select}`;
}

/**
 * From now on the statement reads the partial table alone: the hot rows are in it,
 * aggregated. The hot branch stays in the UNION ALL with no row (`WHERE false`, which
 * PostgreSQL plans as no scan): its columns keep deciding the union's collations — a
 * column of a nondeterministic collation compares as that collation over the partial
 * table's rows too, where the partial table alone has the default collation.
 */
export function readPartialTableOnly(occ: OccurrencePlan): void {
  (occ.hotBranch?.select ?? occ.shipHot!.hotSide!).whereClause = NO_HOT_ROWS();
}

/** The partial column `name` of the hot rows `column` reads, combined into one; undefined where it does not combine. */
function combinedPartial(name: string, occ: OccurrencePlan, column: string): string | undefined {
  const combine = combineOf(name, occ);
  if (!combine) return undefined;
  return combine === 'count' ? `sum(${column})::int8` : `${combine}(${column})`;
}

/** How a partial column's hot rows combine into one: as the statement combines partials (partial-aggregate.ts). */
function combineOf(name: string, occ: OccurrencePlan): 'count' | 'sum' | 'min' | 'max' | undefined {
  if (name === ROWS_COLUMN) return 'count';
  const p = occ.partial!.partials.find((x) => x.name === name);
  if (!p) return undefined;
  switch (p.fn) {
    case 'rows':
    case 'count':
      return 'count';
    case 'sum':
    case 'esum':
    case 'esum2':
      return 'sum';
    case 'min':
    case 'max':
      return p.fn;
  }
}

/**
 * ClickHouse's cell for the instant (plan.ts flooredTime: µs since the epoch, floored to a
 * multiple of g), in PostgreSQL; date_bin rounds toward the origin, so only instants at or
 * after it are floored, and ±infinity, which it refuses, stay whole.
 */
function flooredHotTime(h: string, g: bigint, type: 'timestamptz' | 'timestamp'): string {
  const epoch = type === 'timestamptz' ? `'1970-01-01 00:00:00+00'::timestamptz` : `'1970-01-01 00:00:00'::timestamp`;
  return `(CASE WHEN ${h} >= ${epoch} AND isfinite(${h}) THEN date_bin('${g} microseconds'::interval, ${h}, ${epoch}) ELSE ${h} END)`;
}

/** The hot branch reads its table's own columns alone (no subquery, no outer reference). */
function ownColumnsOnly(occ: OccurrencePlan, select: PgNode): boolean {
  // The hot branch reads the table alone: unqualified names are its columns.
  const scope: ColumnScope = { relation: occ.relation, refName: occ.refName, soleFromItem: true };
  let ok = true;
  visit(select.whereClause, (n) => {
    if (n.SubLink || (n.ColumnRef && columnOf(scope, n.ColumnRef) === undefined)) ok = false;
  });
  return ok;
}
