import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { chIdent, pgIdent } from '@strata/core';
import type { PgNode } from '../router/sql-parser';
import { routeMode } from '../router/route-setting';
import type { Instant } from '../translate/instant';
import type { EngineStatement, SessionContext } from './contract';
import type { EngineContext, TierRoute } from './engine-context';
import { notSupported } from './errors';
import { inlineTempTable, stagedColumns, tsvToArrayLiterals, unescapeCopyText } from './inline-cold-rows';
import { chText, coldQuery, coldRange, coldSource, isEmptyRange, type ColdQuery, occurrenceRange, planStatement, tempTableColumns, tempTableSql, type OccurrencePlan, type StatementPlan } from './plan';
import { chooseRollupReads } from './rollup-reads';
import { boundError, RAW_ROW_DEFAULTS, rawRowBound, rawRowBoundExceeded } from './raw-row-bound';
import { countLatestRows, latestRows, partsBoundRange } from './latest-parts-bound';
import { readSmallAnswer, SMALL_COLD_ANSWER_BYTES } from './small-cold-answer';
import type { StatementTables, TierStateRow } from './statement-tables';
import { evaluateTimeBounds } from './time-bounds';
import { resolveTopKParams } from './top-k';
import { resolveTopNParams } from './top-n';
import type { Transaction } from './transaction';
import { shipHotRows, shipWholeOk, type Shipment } from './whole-pushdown';
import { splitAtWatermark } from './whole-split';
import { hotHoldsTopN, hotTopNApplies } from './hot-top-n';
import { offsetCalls, type LeftOutRows, type OffsetCall } from './left-out-offsets';
import { partitionBySql, partitionKeySql, type PartitionKey } from './partition-keys';
import { hotPartials, hotPartialsStatements, readPartialTableOnly } from './hot-partials';
import { runInOrder } from './hot-session';
import { traced, type StepTimes } from './step-times';

let nextStatementTemps = 1;

/** A statement planned against this snapshot's tier states: its bounds evaluated, its route decided. */
export interface Prepared {
  plan: StatementPlan;
  states: Map<string, TierStateRow>;
  values: Instant[];
  route: TierRoute;
  /** The hot tier is read (not `strata.route = 'cold'`). */
  includeHot: boolean;
  /** The client's parameters and their types (the hot rows shipped for whole aggregates are read with them). */
  params: ReadonlyArray<string | null>;
  paramTypes: number[];
  /** EXPLAIN ANALYZE: where loadColdRows' steps record their times (explain-analyze.ts). */
  trace?: StepTimes;
}

/**
 * Plans the statement (plan.ts), evaluates its time bounds in PostgreSQL and decides the
 * route: `hot` when no occurrence's range reaches below W, `cold` when every one lies
 * below it, `split` otherwise (`strata.route = 'cold'` forces cold).
 */
export async function prepareStatement(
  tx: Transaction,
  query: PgNode,
  stmt: EngineStatement,
  session: SessionContext,
  paramTypes: number[],
  tables: StatementTables,
  tempPrefix?: string,
): Promise<Prepared> {
  const mode = routeMode(session);
  const { states } = tables;
  // Inside the client's block an earlier statement's tables may still be there (a cursor,
  // a portal read in pieces): names of this statement's own.
  const prefix = tempPrefix ?? (tx.own ? undefined : `_strata_cold_s${nextStatementTemps++}_`);
  const planOpts = { utc: tx.utc, includeHot: mode !== 'cold', tempPrefix: prefix };
  let plan = planStatement(query, tables.snapshot, { ...planOpts, whole: true });
  // Refused here, after PostgreSQL described the statement, so its own errors come first.
  for (const occ of plan.occurrences) {
    const t = occ.relation.table;
    if (!states.has(t)) throw notSupported('unapplied-table', `table "${t}" has no tier state (is it applied?)`);
  }
  // Counts given as parameters (top-k's k, top-N's LIMIT and OFFSET), as bound for this execution.
  const resolveCutParams = (planned: StatementPlan) => {
    resolveTopKParams(planned.occurrences, stmt.params, paramTypes);
    resolveTopNParams(planned.occurrences, stmt.params, paramTypes);
  };
  resolveCutParams(plan);
  let values = await evaluateTimeBounds(tx.hot, plan.bounds, stmt.params, paramTypes);
  // Whole aggregates move the hot rows to ClickHouse: only when they are the small side.
  const now = BigInt(Date.now()) * 1000n;
  if (plan.occurrences.some((o) => o.shipHot && !shipWholeOk(occurrenceRange(o, values), states.get(o.relation.table)!.w, now, o.partial!.split?.cell))) {
    plan = planStatement(query, tables.snapshot, planOpts);
    resolveCutParams(plan);
    values = await evaluateTimeBounds(tx.hot, plan.bounds, stmt.params, paramTypes);
  }
  for (const occ of plan.occurrences) splitAtWatermark(occ, states.get(occ.relation.table)!.w);
  for (const occ of plan.occurrences) {
    const w = states.get(occ.relation.table)!.w;
    if (hotTopNApplies(occ, mode !== 'cold') && !isEmptyRange(coldRange(occ, values, w))) {
      occ.topN!.hotHolds = await hotHoldsTopN(tx.hot, occ, w, stmt.params, paramTypes);
    }
  }
  await chooseRollupReads(tx.hot, plan, states, values, tables.rollupPolicy, undefined, tables.rollupContext);
  let anyCold = false;
  let allCold = true;
  for (const occ of plan.occurrences) {
    const { topN, relation } = occ;
    const { w, generations } = states.get(relation.table)!;
    const cold = coldRange(occ, values, w);
    if (!isEmptyRange(cold)) {
      anyCold = true;
      // What the engine knows of the cold table's parts, for the top-N's latest-parts bound.
      if (topN && partsBoundRange(relation, topN, cold)) topN.latestParts = tables.partListings?.of(relation.table, generations);
      // Not cold-only tables: the gateway writes their rows straight to ClickHouse, in the one
      // generation they ever have (cold-spans.ts).
      if (!relation.rollupOf && relation.mode !== 'cold-only') {
        occ.coldSpan = tables.coldSpans?.of(relation.table, relation.timeColumn, generations);
        // Shipped hot rows meet the statement's own range.
        occ.timesFrom1970 = occ.coldSpan !== undefined && occ.coldSpan.lo >= 0n && (!occ.shipHot || occurrenceRange(occ, values).lo >= 0n);
      }
    }
    const r = occurrenceRange(occ, values);
    if (!(r.hi < w || (r.hi === w && !r.hiInclusive))) allCold = false;
  }
  const route: TierRoute = mode === 'cold' ? 'cold' : !anyCold ? 'hot' : allCold ? 'cold' : 'split';
  return { plan, states, values, route, includeHot: mode !== 'cold', params: stmt.params, paramTypes };
}

/** The statement reads the hot tier alone: PostgreSQL answers it as written. */
export function readsHotOnly(p: Prepared): boolean {
  return p.route === 'hot' && !p.plan.occurrences.some((o) => o.relation.mode === 'cold-only');
}

/**
 * Fills each occurrence's temporary table with its cold rows, streamed from ClickHouse
 * into COPY (the proxy holds a chunk at a time). Where no temporary table may be created
 * (tx.noTempTables: a READ ONLY block, a role without TEMPORARY) the rows become
 * array parameters numbered after the statement's own `base` ones instead
 * (inline-cold-rows.ts), returned to be bound after the client's; so do small answers
 * when `inlineSmall` (a SELECT: small-cold-answer.ts). `keep`: the tables outlive the
 * statement (a cursor's), until the transaction ends.
 */
export async function loadColdRows(ctx: EngineContext, tx: Transaction, p: Prepared, keep = false, base = 0, inlineSmall = false): Promise<string[]> {
  const extra: string[] = [];
  for (const occ of p.plan.occurrences) {
    const firstParam = base + extra.length + 1;
    const anyCold = !isEmptyRange(coldRange(occ, p.values, p.states.get(occ.relation.table)!.w));
    if (anyCold) await widenCutByReach(ctx, occ, p);
    // Measured beside the read: what the calls offset against the statement add (left-out-offsets.ts).
    const offsets = occ.topN?.offsets;
    let leftOut: Promise<Map<OffsetCall, LeftOutRows>> | undefined;
    if (offsets && anyCold) {
      const groups = measureGroups(occ, offsets);
      const inRange = measureInRange(ctx, occ, p, groups);
      inRange.catch(() => undefined);
      // Per partition, their number is known before the read: too many, and the read is of raw rows after all.
      if (groups.some((g) => g.keys.length > 0) && (await inRange) === undefined) occ.topN = undefined;
      else leftOut = measureLeftOut(ctx, occ, p, groups, inRange);
    }
    leftOut?.catch(() => undefined);
    extra.push(...(tx.noTempTables ? await inlineColdRows(ctx, tx, p, occ, firstParam) : await copyColdRows(ctx, tx, p, occ, { keep, firstParam, inlineSmall })));
    if (offsets && occ.topN) {
      const measured = await leftOut;
      const columnType = (column: string) => occ.relation.columns.find((c) => c.name === column)!.pgType;
      offsetCalls(offsets, (call) => measured?.get(call) ?? [], columnType);
    }
  }
  return extra;
}

/** The occurrence's cold rows as array parameters numbered from `firstParam` (no temporary table may be created). */
async function inlineColdRows(ctx: EngineContext, tx: Transaction, p: Prepared, occ: OccurrencePlan, firstParam: number): Promise<string[]> {
  const { opts, stats } = ctx;
  const state = p.states.get(occ.relation.table)!;
  const columns = await stagedColumns(tx.hot, occ, state.hotColumns);
  let arrays = columns.copied.map(() => '{}');
  if (!isEmptyRange(coldRange(occ, p.values, state.w)) || occ.shipHot) {
    const shipment = await shipmentFor(ctx, tx, p, occ);
    try {
      const q = coldQuery(occ, p.values, state.w, state.visibility, opts.coldDatabase, shipment?.table);
      stats.coldReads[occ.mode]++;
      if (occ.topK) stats.coldReads.candidates++;
      const answer = await traced(
        p.trace,
        `ClickHouse (${occ.refName}): the cold query, its answer read as array parameters`,
        async () => tsvToArrayLiterals(await latestRows(opts.cold, q), columns.copied.length, opts.maxInlineColdBytes ?? 64 << 20),
        (a) => `${a.rows} rows`,
      );
      arrays = answer.arrays;
    } finally {
      await shipment?.drop();
    }
  }
  inlineTempTable(p.plan.stmt, occ.tempTable, columns, firstParam);
  return arrays;
}

/**
 * The occurrence's cold rows copied into its temporary table, the hot partials computed
 * there meanwhile where they apply (hot-partials.ts); or, for a small answer of a SELECT
 * (`inlineSmall`), inlined as array parameters after all — returned, numbered from `firstParam`.
 */
async function copyColdRows(
  ctx: EngineContext,
  tx: Transaction,
  p: Prepared,
  occ: OccurrencePlan,
  how: { keep: boolean; firstParam: number; inlineSmall: boolean },
): Promise<string[]> {
  const { opts, stats } = ctx;
  const limits = { maxRows: opts.maxRawColdRows ?? RAW_ROW_DEFAULTS.maxRows, maxBytes: opts.maxRawColdBytes ?? RAW_ROW_DEFAULTS.maxBytes };
  const dropAtEnd = () => {
    if (!how.keep) tx.temps.push(occ.tempTable);
  };
  const state = p.states.get(occ.relation.table)!;
  // Whole aggregates: PostgreSQL reads no hot row, so ClickHouse runs even with no cold range.
  if (isEmptyRange(coldRange(occ, p.values, state.w)) && !occ.shipHot) {
    await tx.hot.query(tempTableSql(occ));
    dropAtEnd();
    return [];
  }
  const shipment = await shipmentFor(ctx, tx, p, occ);
  const q = coldQuery(occ, p.values, state.w, state.visibility, opts.coldDatabase, shipment?.table);
  stats.coldReads[occ.mode]++;
  if (occ.topK) stats.coldReads.candidates++;
  const started = performance.now();
  // ClickHouse's read is sent first, the hot partials after it: ClickHouse's is the longer
  // wait (EXPLAIN ANALYZE: it started 0.1–2.1 ms after planning, now ~0.1 ms; alone, no
  // difference beyond bench noise). PostgreSQL aggregates the hot rows while ClickHouse reads.
  const firstBytes = traced(p.trace, `ClickHouse (${occ.refName}): the cold query, to its first bytes`, () => latestRows(opts.cold, q));
  firstBytes.catch(() => undefined);
  const hot = p.includeHot ? hotPartials(occ, p.values, state.w, BigInt(Date.now()) * 1000n) : undefined;
  const hotDone = hot
    ? traced(p.trace, `PostgreSQL (${occ.refName}): the hot rows aggregated, while ClickHouse reads`, () =>
        runInOrder(tx.hot, [{ sql: tempTableSql(occ) }, ...hotPartialsStatements(occ, { sql: hot, params: p.params, paramTypes: p.paramTypes })]),
      )
    : undefined;
  hotDone?.catch(() => undefined);
  try {
    let stream = await firstBytes;
    const bounded = occ.mode === 'raw' && !occ.topN;
    const smallBytes = opts.smallColdAnswerBytes ?? SMALL_COLD_ANSWER_BYTES;
    if (hotDone) {
      // The partial table holds the hot partials: the cold ones join them there.
      await hotDone.catch((err: unknown) => {
        stream.destroy();
        throw err;
      });
      dropAtEnd();
      readPartialTableOnly(occ);
    } else if (how.inlineSmall && smallBytes > 0) {
      const small = await readSmallAnswer(stream, smallBytes);
      if (small.ended) {
        const lines = small.bytes.length === 0 ? 0 : small.bytes.toString('latin1').split('\n').length - 1;
        // Every cold row in range was read: their count is the estimate.
        const exceeded = bounded ? rawRowBoundExceeded(occ.relation.table, limits, lines, small.bytes.length) : undefined;
        if (exceeded) throw exceeded.toSqlState(lines);
        const columns = await stagedColumns(tx.hot, occ, state.hotColumns);
        inlineTempTable(p.plan.stmt, occ.tempTable, columns, how.firstParam);
        const { arrays } = await tsvToArrayLiterals(Readable.from([small.bytes]), columns.copied.length, Infinity);
        p.trace?.record(`ClickHouse (${occ.refName}): the cold answer, read whole and inlined as array parameters`, started, `${lines} rows, ${small.bytes.length} bytes`);
        opts.logger?.debug({ table: occ.relation.table, mode: occ.mode, bytes: small.bytes.length, ms: Math.round(performance.now() - started) }, 'cold rows inlined');
        return arrays;
      }
      stream = small.stream;
    }
    if (!hotDone) {
      await tx.hot.query(tempTableSql(occ));
      dropAtEnd();
    }
    const rows = bounded ? stream.pipe(rawRowBound(occ.relation.table, limits)) : stream;
    // The bound can trip before copyIn reads the stream; the error stays on the stream
    // (copyIn's read gets it), and without a listener it would crash the proxy.
    rows.on('error', () => undefined);
    // Named columns: the hot table's column order can differ from the spec's after evolution.
    const copied = await tx.hot
      .copyIn(`COPY pg_temp.${pgIdent(occ.tempTable)} (${tempTableColumns(occ).map(pgIdent).join(', ')}) FROM STDIN`, rows)
      .catch(async (err: unknown) => {
        stream.destroy();
        throw await boundError(err, opts.cold, q.sql, q.params);
      });
    p.trace?.record(`ClickHouse (${occ.refName}): the cold answer, read and copied into PostgreSQL`, started, `${copied} rows`);
    opts.logger?.debug({ table: occ.relation.table, mode: occ.mode, rows: copied, shippedHotRows: shipment?.rows, ms: Math.round(performance.now() - started) }, 'cold rows loaded');
    return [];
  } finally {
    // Never leave the session's connection mid-pipeline, whatever failed.
    await hotDone?.catch(() => undefined);
    await shipment?.drop();
  }
}

/**
 * Before the read. A top-N whose windows read past its cut (top-n-windows.ts: lag ordered against the
 * statement, lead or a frame reaching FOLLOWING rows with it): the rows through the
 * (n + m)-th row's ties are counted first (by ClickHouse: only the count travels), then the
 * cut is widened by `reach` rows (WITH TIES keeps the ties of the last). Both reads see
 * the same cold rows: the visibility predicate fixes the generations.
 */
async function widenCutByReach(ctx: EngineContext, occ: OccurrencePlan, p: Prepared): Promise<void> {
  const topN = occ.topN;
  if (topN?.reach === undefined) return;
  const state = p.states.get(occ.relation.table)!;
  const cut = await traced(
    p.trace,
    `ClickHouse (${occ.refName}): the top-N's cut counted`,
    () => countLatestRows(ctx.opts.cold, coldQuery(occ, p.values, state.w, state.visibility, ctx.opts.coldDatabase)),
    (n) => `${n} rows`,
  );
  topN.rows = cut + topN.reach;
  topN.reach = undefined;
}

/** The calls offset against the statement that share a PARTITION BY, and the ClickHouse SQL measuring their rows per partition. */
interface MeasureGroup {
  calls: OffsetCall[];
  keys: PartitionKey[];
  /** The partition keys as PostgreSQL reads them, then the measures (count() first). */
  select: string;
  measures: string[];
  groupBy: string;
  /** The columns the measures read (of the cut read's rows). */
  columns: string[];
}

function measureGroups(occ: OccurrencePlan, calls: readonly OffsetCall[]): MeasureGroup[] {
  const byPartition = new Map<string, OffsetCall[]>();
  for (const call of calls) {
    const by = partitionBySql(call.partition);
    byPartition.set(by, [...(byPartition.get(by) ?? []), call]);
  }
  const kind = (column: string) => occ.relation.columns.find((c) => c.name === column)?.kind;
  return [...byPartition.values()].map((group) => {
    const keys = group[0].partition;
    const measures = [...new Set(['count()', ...group.flatMap((c) => measureSql(c).filter((m): m is string => m !== undefined))])];
    const keyTexts = keys.map((k) => chText(partitionKeySql(k), k.float ? 'float8' : kind(k.column)));
    return {
      calls: group,
      keys,
      select: [...keyTexts, ...measures].join(', '),
      measures,
      groupBy: keys.length > 0 ? ` GROUP BY ${partitionBySql(keys)}` : '',
      columns: [...new Set(group.flatMap((c) => [...keys.map((k) => k.column), ...(c.measure.kind === 'rows' ? [] : [c.measure.column])]))],
    };
  });
}

/**
 * ClickHouse's measures of every cold row in the occurrence's range, per group and
 * partition; undefined when a group has more than `maxPartitions` partitions (the engine
 * then reads raw rows: a lookup per returned row over that many would cost more than it saves).
 */
function measureInRange(ctx: EngineContext, occ: OccurrencePlan, p: Prepared, groups: MeasureGroup[]): Promise<Array<Array<Array<string | null>>> | undefined> {
  const state = p.states.get(occ.relation.table)!;
  const max = ctx.opts.maxOffsetPartitions ?? DEFAULT_MAX_OFFSET_PARTITIONS;
  return traced(
    p.trace,
    `ClickHouse (${occ.refName}): the cold rows in range measured per partition`,
    async () => {
      const measured = await Promise.all(
        groups.map(async (g) => {
          const { from, where, params } = coldSource(occ, p.values, state.w, state.visibility, ctx.opts.coldDatabase);
          const limit = g.keys.length > 0 ? ` LIMIT ${max + 1}` : '';
          return tsvRows(await ctx.opts.cold.queryTsv(`SELECT ${g.select} FROM ${from} WHERE ${where.join(' AND ')}${g.groupBy}${limit}`, params.values));
        }),
      );
      return measured.some((rows) => rows.length > max) ? undefined : measured;
    },
    (m) => (m ? `${m.reduce((n, rows) => n + rows.length, 0)} partitions` : `over ${max} partitions: raw rows`),
  );
}

/** Partitions a call offset against the statement may have (TierEngineOptions.maxOffsetPartitions). */
const DEFAULT_MAX_OFFSET_PARTITIONS = 1000;

/**
 * What the cold rows of the occurrence's range that its cut read leaves out add to each
 * call offset against the statement (left-out-offsets.ts), per partition: the measures of
 * the rows in range (`inRange`) minus those of the rows read — the read's own ORDER BY …
 * LIMIT … WITH TIES over the same generations, the latest parts first where bounded
 * (latest-parts-bound.ts). Integer sums in Int128 (an Int64 sum would wrap). Only
 * partitions with rows left out.
 */
function measureLeftOut(ctx: EngineContext, occ: OccurrencePlan, p: Prepared, groups: MeasureGroup[], inRange: Promise<Array<Array<Array<string | null>>> | undefined>): Promise<Map<OffsetCall, LeftOutRows>> {
  const state = p.states.get(occ.relation.table)!;
  return traced(
    p.trace,
    `ClickHouse (${occ.refName}): the cold rows the cut leaves out measured`,
    async () => {
      const measured = new Map<OffsetCall, LeftOutRows>();
      const reads = await Promise.all(
        groups.map((g) => {
          const measuredRead = async (q: ColdQuery): Promise<Array<Array<string | null>>> => {
            const rows = tsvRows(await ctx.opts.cold.queryTsv(`SELECT ${g.select} FROM (${q.sql})${g.groupBy}`, q.params));
            const read = rows.reduce((n, r) => n + BigInt(r[g.keys.length] ?? '0'), 0n);
            return q.latest && read < q.latest.rows ? measuredRead(q.latest.unbounded) : rows;
          };
          const select = g.columns.length > 0 ? g.columns.map(chIdent) : ['1'];
          return measuredRead(coldQuery(occ, p.values, state.w, state.visibility, ctx.opts.coldDatabase, undefined, select));
        }),
      );
      const ranges = (await inRange)!;
      groups.forEach((g, gi) => {
        const readByKey = new Map(reads[gi].map((r) => [JSON.stringify(r.slice(0, g.keys.length)), r.slice(g.keys.length)]));
        const perCall = g.calls.map((call) => ({ call, rows: [] as Array<LeftOutRows[number]> }));
        for (const row of ranges[gi]) {
          const key = row.slice(0, g.keys.length);
          const readMeasures = readByKey.get(JSON.stringify(key));
          const left = (sql: string) => BigInt(row[g.keys.length + g.measures.indexOf(sql)] ?? '0') - BigInt(readMeasures?.[g.measures.indexOf(sql)] ?? '0');
          if (left('count()') === 0n) continue;
          for (const { call, rows } of perCall) {
            const [counted, summed] = measureSql(call);
            if (left(counted) !== 0n) rows.push({ key, value: String(summed === undefined ? left(counted) : left(summed)) });
          }
        }
        for (const { call, rows } of perCall) measured.set(call, rows);
      });
      return measured;
    },
    (m) => `${[...m.values()].reduce((n, rows) => n + rows.length, 0)} partition measures`,
  );
}

/** ClickHouse's measures a call's offset needs: the count it adds (or that tells its sum from NULL), then its sum. Every group also has count() (its rows). */
function measureSql(call: OffsetCall): [string, string?] {
  const m = call.measure;
  if (m.kind === 'rows') return ['count()'];
  const col = chIdent(m.column);
  return m.kind === 'count' ? [`count(${col})`] : [`count(${col})`, `sum(toInt128(${col}))`];
}

/** A TSV answer's rows, each field as PostgreSQL's text (null: NULL). */
function tsvRows(tsv: string): Array<Array<string | null>> {
  return tsv
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t').map((f) => (f === '\\N' ? null : unescapeCopyText(f))));
}

/** The occurrence's hot rows shipped to ClickHouse when its whole aggregates need them (whole-pushdown.ts). */
async function shipmentFor(ctx: EngineContext, tx: Transaction, p: Prepared, occ: OccurrencePlan): Promise<Shipment | undefined> {
  if (!occ.shipHot || !p.includeHot || occ.relation.mode === 'cold-only') return undefined;
  return traced(
    p.trace,
    `PostgreSQL → ClickHouse (${occ.refName}): hot rows shipped`,
    () => shipHotRows(tx.hot, ctx.opts.cold, occ, p.params, p.paramTypes),
    (s) => `${s.rows} rows`,
  );
}

/** The client's parameters (as many as PostgreSQL found) followed by the inlined cold rows. */
export function boundWith(stmt: EngineStatement, paramTypes: number[], extra: string[]): { params: Array<string | null>; types: number[] } {
  if (extra.length === 0) return { params: stmt.params, types: paramTypes };
  const own = Array.from({ length: paramTypes.length }, (_, i) => stmt.params[i] ?? null);
  return { params: [...own, ...extra], types: [...paramTypes, ...extra.map(() => 0)] };
}

export function countRoute(ctx: EngineContext, p: Prepared): void {
  ctx.stats[p.route]++;
  ctx.opts.logger?.debug({ route: p.route, occurrences: p.plan.occurrences.map((o) => o.mode) }, 'tiered statement');
}
