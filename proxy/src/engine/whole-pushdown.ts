import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { chIdent, chLiteral, chQualified, pgIdent, pgQualified, type ColdStore } from '@strata/core';
import { deparseStatement } from '../router/sql-parser';
import type { Instant } from '../translate/instant';
import { columnKind } from '../translate/column-scope';
import { SqlStateError } from './contract';
import type { HotSession } from './hot-session';
import { ROWS_COLUMN } from './partial-aggregate';
import type { OccurrencePlan, PartialTableColumn } from './plan';
import { selectOf } from './sql-snippets';
import { wholeInputs } from './whole-aggregate';
import { shippedWhere } from './whole-split';

/**
 * Whole aggregates (whole-aggregate.ts) over a range that reaches the hot tier: the hot
 * rows of the occurrence's range — only the columns the cold query reads, selected with
 * the statement's own WHERE, in the client's session and snapshot — are shipped to
 * ClickHouse for this statement: a Memory table in a scratch database, filled through
 * ColdStore.insertTsv (the HTTP and the embedded store alike) and dropped after the cold
 * query. The cold query then groups cold rows (time, pushed conditions, generations and
 * tombstones filtered, as every cold read) UNION ALL the shipped ones.
 *
 * Where every whole aggregate is a count(DISTINCT) and nothing else reads single rows
 * (no partials, no time cells), PostgreSQL ships each distinct row once with its
 * multiplicity (distinctShipment): uniqExact over cold ∪ the distinct rows is unchanged,
 * and the row count (count(*), a group's existence) sums the multiplicities.
 *
 * Grouped by a time bucket, only the hot rows of the buckets reaching below W ship; the
 * later buckets are PostgreSQL's, from its hot rows (whole-split.ts).
 *
 * The small side moves: whole aggregates are planned only when the statement's cold
 * range is at least as long as its shipped hot range (shipWholeOk); otherwise the statement is
 * planned without them. Values travel losslessly: floats as their IEEE bytes (float8send,
 * independent of extra_float_digits), instants as their send bytes too (µs since
 * 2000-01-01, independent of TimeZone and DateStyle).
 */
export const SCRATCH_DATABASE = 'strata_scratch';

/**
 * The shipped table's first column: how many hot rows the line stands for (1, or a
 * distinct row's multiplicity, read only then); never empty, see shipHotRows.
 */
const ROW_MARK = '_strata_row';

/** Text of hot rows one statement may ship (they sit in ClickHouse's memory until the statement ends). */
export const MAX_SHIPPED_HOT_BYTES = 1024 ** 3;

/** Kinds shipped, with the ClickHouse column they land in and how each side spells them. */
interface ShipFormat {
  chType: string;
  /** PostgreSQL: the value as the text ClickHouse's TabSeparated reads ($ = the column). */
  pg: string;
  /** ClickHouse: the shipped column read back as the cold column's type ($ = the column). */
  ch: string;
  /**
   * Distinct shipments group by this key ($ = the column; the column itself when absent),
   * one-to-one with the shipped text, and make the text from it with `pgOfKey` ($ = the
   * key; `pg` when absent).
   */
  key?: string;
  pgOfKey?: string;
}

/**
 * Text with TabSeparated's escapes, made by PostgreSQL (E'' literals: the same whatever the
 * session's standard_conforming_strings), so the proxy passes each row on as one string.
 */
function tsvEscaped(text: string): string {
  return String.raw`replace(replace(replace(replace(${text}, E'\\', E'\\\\'), E'\t', E'\\t'), E'\n', E'\\n'), E'\r', E'\\r')`;
}

/**
 * Instants as their binary send format (µs since 2000-01-01 as a big-endian int8: UTC
 * for timestamptz, the wall clock for timestamp, whatever the session's settings) in
 * hex; '' for NULL and ±infinity, which ClickHouse's DateTime64 cannot hold (read as
 * NULL, as to_char's NULL was). Measured on 43,200 rows: 20 ms of PostgreSQL where
 * to_char took 34, and 16 characters a value instead of 26 for ClickHouse to parse.
 */
const instantBytes = (send: string) => `CASE WHEN isfinite($) THEN encode(${send}($), 'hex') ELSE '' END`;
const INSTANT_FROM_BYTES = "if($ = '', NULL, fromUnixTimestamp64Micro(reinterpretAsInt64(reverse(unhex($))) + 946684800000000, 'UTC'))";

/**
 * Floats as their send bytes in hex, grouped by those bytes: -0 and 0, NaNs of other
 * payloads stay apart, as their texts do.
 */
const floatBytes = (send: string, ch: string): ShipFormat => {
  const pgOfKey = "coalesce(encode($, 'hex'), '')";
  return { chType: 'String', pg: pgOfKey.replace('$', `${send}($)`), ch, key: `${send}($)`, pgOfKey };
};

/** Text grouped under "C": equal means the same bytes (text of a nondeterministic collation is never shipped whole, whole-aggregate.ts). */
const TEXT: ShipFormat = { chType: 'Nullable(String)', pg: tsvEscaped('$::text'), ch: '$', key: '$ COLLATE "C"' };

const SHIP: Record<string, ShipFormat> = {
  float8: floatBytes('float8send', "if($ = '', NULL, reinterpretAsFloat64(reverse(unhex($))))"),
  float4: floatBytes('float4send', "if($ = '', NULL, reinterpretAsFloat32(reverse(unhex($))))"),
  timestamptz: { chType: 'String', pg: instantBytes('timestamptz_send'), ch: INSTANT_FROM_BYTES },
  timestamp: { chType: 'String', pg: instantBytes('timestamp_send'), ch: INSTANT_FROM_BYTES },
  date: { chType: 'Nullable(Date32)', pg: "to_char($, 'YYYY-MM-DD')", ch: '$' },
  int2: { chType: 'Nullable(Int16)', pg: '$::text', ch: '$' },
  int4: { chType: 'Nullable(Int32)', pg: '$::text', ch: '$' },
  int8: { chType: 'Nullable(Int64)', pg: '$::text', ch: '$' },
  bool: { chType: 'Nullable(Bool)', pg: '$::text', ch: '$' },
  text: TEXT,
  varchar: TEXT,
  uuid: { chType: 'Nullable(UUID)', pg: '$::text', ch: '$' },
};

/** Columns of `kind` can be shipped exactly. */
export function shippable(kind: string | undefined): boolean {
  return kind !== undefined && kind in SHIP;
}

/** The table columns the whole cold query reads (time, grouping, partial and whole inputs). */
export function shippedColumns(occ: OccurrencePlan): string[] {
  const shape = occ.partial!;
  const names = new Set<string>();
  if (shape.timeGranularity !== undefined) names.add(occ.relation.timeColumn);
  for (const c of shape.groupColumns) names.add(c);
  for (const p of shape.partials) for (const c of [p.column, ...(p.filter?.columns ?? [])]) if (c !== '') names.add(c);
  for (const w of shape.wholes) for (const c of wholeInputs(w)) names.add(c);
  return [...names];
}

function kindOf(occ: OccurrencePlan, column: string): string {
  return columnKind(occ, column)!;
}

/** The cold query of an occurrence with whole aggregates: cold rows UNION ALL the shipped hot rows, grouped. */
export function wholeColdQuery(occ: OccurrencePlan, cols: PartialTableColumn[], from: string, where: string[], shipped: string | undefined): string {
  const names = shippedColumns(occ);
  let source = `SELECT ${names.map(chIdent).join(', ')} FROM ${from} WHERE ${where.join(' AND ')}`;
  if (shipped) {
    const read = names.map((n) => `${SHIP[kindOf(occ, n)].ch.replaceAll('$', chIdent(n))} AS ${chIdent(n)}`);
    if (distinctShipment(occ)) {
      // Rows are weighed: a cold row is one, a shipped distinct row its multiplicity.
      source = `SELECT toUInt64(1) AS ${chIdent(ROW_MARK)}, ${source.slice('SELECT '.length)} UNION ALL SELECT ${chIdent(ROW_MARK)}, ${read.join(', ')} FROM ${shipped}`;
      cols = cols.map((c) => (c.name === ROWS_COLUMN ? { ...c, chExpr: `sum(${chIdent(ROW_MARK)})` } : c));
    } else source = `${source} UNION ALL SELECT ${read.join(', ')} FROM ${shipped}`;
  }
  const keys = cols.filter((c) => c.chKey !== undefined).map((c) => c.chKey!);
  const groupBy = keys.length > 0 ? ` GROUP BY ${keys.join(', ')}` : '';
  return `SELECT ${cols.map((c) => c.chExpr).join(', ')} FROM (${source})${groupBy} HAVING count() > 0`;
}

/**
 * Whether shipping the hot rows is the small move: the statement's range below W is at
 * least as long as its shipped range at or above W (up to `now`: the hot tier holds no
 * later rows in the common case) — with groups split at W by a time bucket of `cell` µs
 * (whole-split.ts), only up to the end of W's bucket. Either end unbounded below counts
 * as longer.
 */
export function shipWholeOk(range: { lo: Instant; hi: Instant }, watermark: Instant, now: Instant, cell?: bigint): boolean {
  const coldHi = range.hi < watermark ? range.hi : watermark;
  const hotLo = range.lo > watermark ? range.lo : watermark;
  let hotHi = range.hi < now ? range.hi : now;
  if (cell !== undefined) {
    // The last bucket with cold rows is the bucket of W's last microsecond (cold rows are below W).
    const last = watermark - 1n;
    const bucketEnd = cell === 0n ? watermark : (last / cell - (last % cell < 0n ? 1n : 0n) + 1n) * cell;
    if (bucketEnd < hotHi) hotHi = bucketEnd;
  }
  const cold = coldHi - range.lo;
  const hot = hotHi > hotLo ? hotHi - hotLo : 0n;
  return cold >= hot;
}

const scratchReady = new WeakMap<ColdStore, Promise<void>>();

export interface Shipment {
  /**
   * What the cold query reads the rows from: the Memory table (database-qualified,
   * quoted) or a format() table function holding them; undefined when no hot row matched.
   */
  table: string | undefined;
  /** Lines shipped: rows, or distinct rows in a distinct shipment. */
  rows: number;
  drop(): Promise<void>;
}

/**
 * Whether the occurrence's hot rows may travel as distinct rows with their multiplicity:
 * every whole aggregate is a count(DISTINCT) (a value counted once however often it
 * ships), no partial reads single rows, and no time column is shipped (instants are
 * nearly all distinct: grouping them in PostgreSQL would cost without shrinking).
 */
export function distinctShipment(occ: OccurrencePlan): boolean {
  const shape = occ.partial!;
  return shape.partials.length === 0 && shape.timeGranularity === undefined && shape.wholes.every((w) => w.fn === 'count_distinct');
}

/**
 * PostgreSQL's statement producing the shipped lines: one TabSeparated line per row (or
 * per distinct row, its multiplicity first), the proxy copies strings instead of escaping
 * each field (measured: about half its CPU per shipped row). NULL is \N.
 */
function shipmentSelect(occ: OccurrencePlan, names: string[]): string {
  const rel = occ.relation;
  const alias = pgIdent(occ.refName);
  const field = (text: string) => String.raw`coalesce(${text}, E'\\N')`;
  const select = (list: string) => {
    const s = selectOf(`SELECT ${list} FROM ${pgQualified(rel.schema, rel.table)} AS ${alias}`);
    s.whereClause = shippedWhere(occ);
    return deparseStatement({ SelectStmt: s });
  };
  if (!distinctShipment(occ)) return select(String.raw`concat_ws(E'\t', '1', ${names.map((n) => field(SHIP[kindOf(occ, n)].pg.replaceAll('$', `${alias}.${pgIdent(n)}`))).join(', ')})`);
  // Grouped by the columns' keys (ShipFormat.key: one-to-one with the shipped text, as
  // grouping the lines was), each line made once per group: 43,200 rows into 30 lines took
  // 7 ms where making every row's line and grouping the lines took 18–21. Other kinds than
  // text and floats group by value: their text is a function of the value (two values of
  // one text would only ship two lines, summed alike by ClickHouse).
  const formats = names.map((n) => SHIP[kindOf(occ, n)]);
  const keys = names.map((n, i) => `${(formats[i].key ?? '$').replaceAll('$', `${alias}.${pgIdent(n)}`)} AS k${i}`);
  const fields = formats.map((f, i) => field((f.pgOfKey ?? f.pg).replaceAll('$', `hot.k${i}`)));
  return String.raw`SELECT count(*)::text || E'\t' || concat_ws(E'\t', ${fields.join(', ')}) FROM (${select(keys.join(', '))}) AS hot GROUP BY ${names.map((_, i) => `hot.k${i}`).join(', ')}`;
}

/** For EXPLAIN: which hot rows are shipped (the columns and the WHERE the shipment reads them with). */
export function shippedRowsSql(occ: OccurrencePlan): string {
  const rel = occ.relation;
  const alias = pgIdent(occ.refName);
  const select = selectOf(`SELECT ${shippedColumns(occ).map((n) => `${alias}.${pgIdent(n)}`).join(', ')} FROM ${pgQualified(rel.schema, rel.table)} AS ${alias}`);
  select.whereClause = shippedWhere(occ);
  return deparseStatement({ SelectStmt: select });
}

/** Rows PostgreSQL sends per page of a shipment. */
const PAGE_ROWS = 10_000;

/**
 * Text of distinct hot rows sent inside the cold query itself (a format() table
 * function) rather than through a Memory table: no CREATE, INSERT or DROP request. Far
 * below ClickHouse's max_query_size (256 KiB) with the statement around it.
 */
export const MAX_INLINE_SHIPPED_BYTES = 64 * 1024;

/**
 * Reads the occurrence's hot rows (its WHERE, the client's parameters) a page at a time
 * and streams them into a new Memory table as they are read (the proxy holds one page).
 * The table is created while PostgreSQL reads the first page (nearly every shipment has
 * rows). Distinct rows (distinctShipment) and a split's shipment (whole-split.ts) are
 * mostly few: read first, and when they all fit in MAX_INLINE_SHIPPED_BYTES they travel
 * inside the cold query, no table at all.
 * Past `maxBytes` of shipped text: 54000. No hot row: no table.
 */
export async function shipHotRows(
  hot: HotSession,
  cold: ColdStore,
  occ: OccurrencePlan,
  params: ReadonlyArray<string | null>,
  paramTypes: readonly number[],
  maxBytes = MAX_SHIPPED_HOT_BYTES,
): Promise<Shipment> {
  const names = shippedColumns(occ);
  const rel = occ.relation;
  const table = chQualified(SCRATCH_DATABASE, `hot_${rel.table}_${randomUUID().replaceAll('-', '')}`);
  // A leading count column: no line is ever empty. ClickHouse skips blank lines
  // before an INSERT's data, so a one-column row of '' or NULL-as-'' would be lost or misread.
  const columns = [`${chIdent(ROW_MARK)} UInt64`, ...names.map((n) => `${chIdent(n)} ${SHIP[kindOf(occ, n)].chType}`)];
  const createTable = () => {
    const done = scratchDatabase(cold).then(() => cold.command(`CREATE TABLE ${table} (${columns.join(', ')}) ENGINE = Memory`));
    // Awaited on every path below; this only keeps a failure before then from going unhandled.
    done.catch(() => undefined);
    return done;
  };
  // Read before any table exists, to travel inline when they fit: distinct rows, and a
  // split's shipment (the rest of W's bucket and late rows: p95-hourly-7d ships 1,590
  // rows, 57 KiB; the table's CREATE, INSERT and DROP took ~20 ms of its ~110).
  const readFirst = distinctShipment(occ) || occ.shipHot?.above !== undefined;
  let created = readFirst ? undefined : createTable();
  let rows = 0;
  let bytes = 0;
  // The stores wrap a source's error in their own: the client gets this one.
  let overLimit: SqlStateError | undefined;
  const encode = (page: Array<Array<string | null>>): Buffer => {
    const text = Buffer.from(page.map((r) => r[0]).join('\n') + '\n');
    bytes += text.length;
    rows += page.length;
    if (bytes > maxBytes) {
      throw (overLimit = new SqlStateError(
        '54000',
        `more than ${Math.round(maxBytes / 1048576)} MiB of hot rows of "${rel.table}" to ship to the cold tier for this statement`,
        undefined,
        'Narrow the time range (aggregates ClickHouse computes whole read the hot rows of the range there).',
      ));
    }
    return text;
  };
  let portal: Awaited<ReturnType<HotSession['openPortal']>> | undefined;
  try {
    const open = (portal = await hot.openPortal(shipmentSelect(occ, names), params, paramTypes, PAGE_ROWS));
    // Pages read before the table exists: the first, or (readFirst) pages while they could go inline.
    const early: Buffer[] = [];
    let ended = false;
    for (;;) {
      const page = await open.next();
      if (page === null) ended = true;
      else if (page.length > 0) early.push(encode(page));
      if (ended || (!readFirst && rows > 0) || bytes > MAX_INLINE_SHIPPED_BYTES) break;
    }
    if (rows === 0) {
      if (created) await created.then(() => dropTable(cold, table));
      return { table: undefined, rows, drop: async () => undefined };
    }
    if (!created && ended) return { table: inlineRows(columns, Buffer.concat(early)), rows, drop: async () => undefined };
    created ??= createTable();
    await created;
    async function* pages(): AsyncGenerator<Buffer> {
      yield* early;
      if (ended) return;
      for (let page = await open.next(); page !== null; page = await open.next()) if (page.length > 0) yield encode(page);
    }
    // Not gzipped: the statement waits for these rows, and gzip took ~30 ms of the proxy's
    // CPU per 43k rows (2.5 MB) plus ClickHouse's to inflate them — more than a LAN takes.
    await cold.insertTsv({ table, columns: [ROW_MARK, ...names], data: Readable.from(pages(), { objectMode: false }), compress: false });
  } catch (err) {
    // Dropped whether or not the CREATE got through (IF EXISTS), after it settled.
    if (created) {
      await created.catch(() => undefined);
      await dropTable(cold, table).catch(() => undefined);
    }
    throw overLimit ?? err;
  } finally {
    await portal?.close();
  }
  return { table, rows, drop: () => dropTable(cold, table) };
}

/** Shipped lines read in place by the cold query: ClickHouse's format() over the TabSeparated text. */
function inlineRows(columns: string[], text: Buffer): string {
  return `format(TabSeparated, ${chLiteral(columns.join(', '))}, ${chLiteral(text.toString())})`;
}

function dropTable(cold: ColdStore, table: string): Promise<void> {
  return cold.command(`DROP TABLE IF EXISTS ${table}`, undefined, { idempotent: true });
}

/** The scratch database, created once per store (again after a failure). */
function scratchDatabase(cold: ColdStore): Promise<void> {
  let ready = scratchReady.get(cold);
  if (!ready) {
    ready = cold.command(`CREATE DATABASE IF NOT EXISTS ${chIdent(SCRATCH_DATABASE)}`, undefined, { idempotent: true });
    scratchReady.set(cold, ready);
    ready.catch(() => scratchReady.delete(cold));
  }
  return ready;
}

