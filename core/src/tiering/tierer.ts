import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import xxhash from 'xxhash-wasm';
import type { TieredTableSpec } from '../model/tiered-table';
import { parseDuration } from '../model/duration';
import type { ColdStore } from '../cold/cold-store';
import { getRegisteredTable, getTierState } from '../catalog/catalog';
import { TIER_READ_LOCK_TRY_EXCLUSIVE_SQL } from '../catalog/tier-read-lock';
import { tieredColumns } from '../ddl/column-types';
import { ANY_PARTITIONS_PER_INSERT_SETTINGS, GEN_COLUMN, insertRollupSql, rawTableName, type ColdTarget } from '../ddl/clickhouse';
import { hotTable } from '../ddl/postgres';
import { chIdent, chQualified, pgIdent, pgLiteral } from '../ddl/sql';
import { CopyBinaryToTsv } from './copy-binary-to-tsv';
import { codecFor } from './pg-binary-codecs';
import { chChecksumSql, formatChecksum, parseChChecksum, sameChecksum } from './row-checksum';
import { TIER_STEPS, type TierHook } from './steps';
import { TIERING_ERROR_CODES, TieringError } from './errors';
import { detectHotFlavor, dropPartitionsBelow, maintainPartitions } from './hot-partitions';
import { applyColdDeletes } from './apply-cold-deletes';
import { setAsideUnholdableRows } from './quarantine';
import { purgeDeadGenerations, refreshVisibleView } from './visible-view';

/**
 * The mover. One run takes every PostgreSQL row with time < W' (the window
 * [W, W') plus late rows below W) and, in ONE PostgreSQL transaction:
 *   COPY (DELETE … RETURNING …) TO STDOUT (binary) → ClickHouse inserts tagged with
 *   this run's generation → verify count+checksum → build rollups → advance W and
 *   commit the generation.
 * A crash anywhere before COMMIT rolls the delete back and leaves the run's cold rows
 * invisible (their generation never commits and is excluded by the next run); a
 * crash after COMMIT leaves only empty partitions to drop. So every row is exactly
 * once across tiers whatever step dies. Rows inserted below W' while a run is under
 * way are not seen by its DELETE and stay in PostgreSQL, readable, until the next run.
 */

export interface TierRunOptions {
  table: string;
  /** Explicit target watermark; default: now − hot.retention, aligned down to chunkInterval. */
  until?: Date;
  now?: Date;
  onStep?: TierHook;
}

export interface TierRunResult {
  table: string;
  gen: string;
  previousWatermark: string;
  watermark: string;
  rows: number;
  bytes: number;
  durationMs: number;
  droppedPartitions: number;
  checksum: string;
  /** Rows below W already past cold.retention: deleted, not moved (ClickHouse's TTL would drop them on arrival). */
  expiredRows: number;
  /** Rows set aside in strata.quarantine, not moved: a value in them the cold tier cannot hold (see ddl/cold-range.ts). */
  quarantinedRows: number;
}

export interface TiererDeps {
  /** Opens a dedicated PostgreSQL connection (the advisory lock lives on it). */
  openHot: () => Promise<Client>;
  cold: ColdStore;
  coldTarget: ColdTarget;
}

const LOCK_CLASS = 0x5354; // 'ST': namespace for Strata's advisory locks

let hasher: Promise<(b: Uint8Array) => number> | null = null;
function xxh32(): Promise<(b: Uint8Array) => number> {
  hasher ??= xxhash().then((x) => (b: Uint8Array) => x.h32Raw(b, 0));
  return hasher;
}

export function defaultTarget(spec: TieredTableSpec, now: Date): Date {
  const width = parseDuration(spec.hot.chunkInterval);
  const t = now.getTime() - parseDuration(spec.hot.retention);
  return new Date(Math.floor(t / width) * width);
}

export async function runTiering(deps: TiererDeps, opts: TierRunOptions): Promise<TierRunResult> {
  const started = Date.now();
  const hook: TierHook = opts.onStep ?? (() => undefined);
  let db: Client | undefined;
  try {
    db = await deps.openHot().catch((cause) => {
      throw new TieringError(TIERING_ERROR_CODES.hotStore, `cannot connect to PostgreSQL: ${(cause as Error).message}`, { cause });
    });
    ignoreConnectionErrorEvents(db);
    await db.query("SET TimeZone = 'UTC'");
    const reg = await getRegisteredTable(db, opts.table);
    if (!reg) throw new TieringError(TIERING_ERROR_CODES.notRegistered, `table "${opts.table}" is not registered; run \`strata apply\` first`);
    const spec = reg.spec;
    if (spec.mode === 'cold-only') {
      throw new TieringError(TIERING_ERROR_CODES.notTiered, `table "${spec.table}" is cold-only: its rows are written to ClickHouse directly`);
    }
    const locked = await db.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_CLASS, spec.table]);
    if (!locked.rows[0].ok) {
      throw new TieringError(TIERING_ERROR_CODES.locked, `another tierer is running for table "${spec.table}"`);
    }
    await hook({ step: TIER_STEPS.locked, table: spec.table });
    return await runLocked(deps, db, spec, opts, hook, started);
  } catch (err) {
    // The session may be mid-COPY or broken: close it (which rolls back and releases
    // the advisory lock) before recording the failure on a fresh one.
    await closeHard(db);
    db = undefined;
    await recordFailure(deps, opts.table, err).catch(() => undefined);
    throw err instanceof TieringError ? err : classify(err);
  } finally {
    await closeHard(db);
  }
}

async function closeHard(db: Client | undefined): Promise<void> {
  if (!db) return;
  const ended = db.end().then(
    () => true,
    () => true,
  );
  const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref());
  if (!(await Promise.race([ended, timedOut]))) {
    (db as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }
}

function classify(err: unknown): TieringError {
  const e = err as { code?: unknown; message?: string; name?: string };
  if (e?.name === 'ColdStoreError') return new TieringError(TIERING_ERROR_CODES.coldStore, `ClickHouse: ${e.message}`, { cause: err });
  return new TieringError(TIERING_ERROR_CODES.hotStore, `PostgreSQL: ${e?.message ?? String(err)}`, { cause: err });
}

/**
 * A server that goes away rejects the query in flight, which is how the run learns
 * of it; pg also emits 'error' on the client, which would crash the process unheard.
 */
function ignoreConnectionErrorEvents(db: Client): void {
  db.on('error', () => undefined);
}

async function recordFailure(deps: TiererDeps, table: string, err: unknown): Promise<void> {
  if (err instanceof TieringError && (err.code === TIERING_ERROR_CODES.locked || err.code === TIERING_ERROR_CODES.notRegistered)) return;
  const db = await deps.openHot();
  ignoreConnectionErrorEvents(db);
  try {
    await db.query("SET statement_timeout = '5s'");
    await db.query('UPDATE strata.tier_state SET last_error = $2, last_finished_at = now() WHERE table_name = $1', [
      table,
      err instanceof TieringError ? err.message : classify(err).message,
    ]);
  } finally {
    await closeHard(db);
  }
}

async function runLocked(deps: TiererDeps, db: Client, registered: TieredTableSpec, opts: TierRunOptions, hook: TierHook, started: number): Promise<TierRunResult> {
  let spec = registered;
  const now = opts.now ?? new Date();
  const flavor = await detectHotFlavor(db);
  // Deletes first: the rows they cover are already invisible, and this run's rows (a later
  // generation) are never theirs.
  if (spec.mode !== 'hot-only') await applyColdDeletes(db, deps.cold, deps.coldTarget, spec);

  // 1. Open the run: a fresh generation; a previous run that died is excluded for good.
  // READ COMMITTED whatever the server's default: the spec read below must see an apply
  // that committed while this waited for the row lock.
  await db.query('BEGIN ISOLATION LEVEL READ COMMITTED');
  const state = (await getTierState(db, spec.table, true))!;
  const genRow = await db.query<{ gen: string }>("SELECT nextval('strata.tier_gen_seq')::text AS gen");
  const gen = genRow.rows[0].gen;
  await db.query(
    `UPDATE strata.tier_state SET running_gen = $2,
       excluded_gens = CASE WHEN running_gen IS NULL THEN excluded_gens ELSE excluded_gens || running_gen END,
       last_started_at = now() WHERE table_name = $1`,
    [spec.table, gen],
  );
  // The spec this run builds, read after its generation was drawn under the tier_state row
  // lock: an apply that adds a rollup draws the rollup's first generation under the same
  // lock (catalog/rollup-starts.ts), so a run with a generation at or above it sees it.
  spec = (await getRegisteredTable(db, spec.table))?.spec ?? spec;
  await db.query('COMMIT');
  const previous = state.watermark;
  let target = opts.until ?? defaultTarget(spec, now);
  if (previous && target.getTime() < previous.getTime()) target = previous; // W never moves back; this run only sweeps
  await hook({ step: TIER_STEPS.begun, table: spec.table, gen, watermark: target.toISOString() });

  // Before partition maintenance and the move, which could not handle them, and before
  // the expiry delete: a row dated -infinity or before 1900 is set aside for a person
  // to see, not deleted as merely old.
  const quarantined = await setAsideUnholdableRows(db, spec, flavor, gen, target);
  if (flavor === 'native') await maintainPartitions(db, spec, now, target);

  const moved = spec.mode === 'hot-only' ? await deleteExpired(db, spec, target) : await moveToCold(deps, db, spec, gen, target, now, hook);

  await hook({ step: TIER_STEPS.committed, table: spec.table, gen, rows: moved.rows, watermark: target.toISOString() });
  const dropped = await dropPartitionsBelow(db, spec, flavor, target);
  await hook({ step: TIER_STEPS.dropped, table: spec.table, gen, detail: `${dropped} partitions` });
  if (spec.mode === 'hot-then-cold') {
    // After the commit: the view shows this generation from now on (before, it lags,
    // which is safe); rows of dead generations leave the raw table in the background.
    await refreshVisibleView(db, deps.cold, deps.coldTarget, spec);
    await purgeDeadGenerations(deps.cold, deps.coldTarget, spec, (await getTierState(db, spec.table))!);
  }
  const durationMs = Date.now() - started;
  await db.query(
    'UPDATE strata.tier_state SET last_duration_ms = $2, last_finished_at = now() WHERE table_name = $1',
    [spec.table, durationMs],
  );
  const result: TierRunResult = {
    table: spec.table,
    gen,
    previousWatermark: state.watermarkText,
    watermark: target.toISOString(),
    rows: moved.rows,
    bytes: moved.bytes,
    durationMs,
    droppedPartitions: dropped,
    checksum: moved.checksum,
    expiredRows: moved.expired ?? 0,
    quarantinedRows: quarantined,
  };
  await hook({ step: TIER_STEPS.done, table: spec.table, gen, rows: moved.rows, bytes: moved.bytes, watermark: result.watermark });
  return result;
}

interface Moved {
  rows: number;
  bytes: number;
  checksum: string;
  expired?: number;
}

/**
 * Late rows can be older than the cold tier keeps rows at all (cold.retention): its TTL
 * would drop them on insert, the verification could never match, and W would never pass
 * them. They are deleted in the run's transaction instead of moved. The hour's margin
 * covers the run itself: a row must not expire in ClickHouse between this check and its
 * insert.
 */
const EXPIRY_MARGIN_MS = 3_600_000;

async function moveToCold(deps: TiererDeps, db: Client, spec: TieredTableSpec, gen: string, target: Date, now: Date, hook: TierHook): Promise<Moved> {
  const columns = tieredColumns(spec);
  const hash = await xxh32();
  const conv = new CopyBinaryToTsv(
    columns.map((c) => codecFor(c.pg, hash)),
    Buffer.from(`\t${gen}\n`),
  );
  const coldTable = chQualified(deps.coldTarget.database, rawTableName(spec));
  const insertColumns = [...columns.map((c) => c.name), GEN_COLUMN];
  const runId = randomUUID();
  let batchNo = 0;
  let inflight: Promise<void> | null = null;
  let rowsSent = 0;
  const flush = async (): Promise<void> => {
    const batch = conv.takeBatch();
    if (batch.rows === 0) return;
    if (inflight) await inflight;
    const token = `${spec.table}:${gen}:${runId}:${batchNo++}`;
    // A batch spans the backlog's partitions.
    inflight = deps.cold.insertTsv({ table: coldTable, columns: insertColumns, data: batch.data, dedupToken: token, settings: ANY_PARTITIONS_PER_INSERT_SETTINGS }).then(async () => {
      rowsSent += batch.rows;
      await hook({ step: TIER_STEPS.copyBatch, table: spec.table, gen, rows: rowsSent, bytes: conv.bytesIn });
    });
    // Awaited below; this only keeps a failure from being an unhandled rejection meanwhile.
    inflight.catch(() => undefined);
  };

  await db.query('BEGIN');
  let expired = 0;
  if (spec.cold.retention) {
    const expireBefore = new Date(Math.min(target.getTime(), now.getTime() - parseDuration(spec.cold.retention) + EXPIRY_MARGIN_MS));
    const r = await db.query(`DELETE FROM ${hotTable(spec)} WHERE ${pgIdent(spec.timeColumn)} < $1::timestamptz`, [expireBefore.toISOString()]);
    expired = r.rowCount ?? 0;
  }
  const list = columns.map((c) => pgIdent(c.name)).join(', ');
  const copy = db.query(
    copyTo(
      `COPY (DELETE FROM ${hotTable(spec)} WHERE ${pgIdent(spec.timeColumn)} < ${pgLiteral(target.toISOString())}::timestamptz RETURNING ${list}) TO STDOUT (FORMAT binary)`,
    ),
  );
  for await (const chunk of copy as AsyncIterable<Buffer>) {
    conv.write(chunk);
    if (conv.rowsInBatch >= spec.tiering.batchRows) await flush();
  }
  conv.end();
  await flush();
  if (inflight) await inflight;
  await hook({ step: TIER_STEPS.copied, table: spec.table, gen, rows: conv.checksum.rows, bytes: conv.bytesIn });

  const coldRows = await deps.cold.query<{ rows: string; sum_a: string; sum_b: string }>(
    chChecksumSql(columns, `${coldTable} WHERE ${chIdent(GEN_COLUMN)} = {gen:UInt64}`),
    { gen },
  );
  const cold = parseChChecksum(coldRows[0]);
  if (!sameChecksum(cold, conv.checksum)) {
    throw new TieringError(
      TIERING_ERROR_CODES.verifyFailed,
      `verification failed for "${spec.table}" generation ${gen}: PostgreSQL sent ${formatChecksum(conv.checksum)}, ClickHouse holds ${formatChecksum(cold)}; nothing was committed`,
    );
  }
  await hook({ step: TIER_STEPS.verified, table: spec.table, gen, rows: cold.rows });

  if (cold.rows > 0) {
    // One token per (table, generation, rollup): a retried or re-run insert of the same
    // generation's rollup is dropped by the deduplication window instead of doubling it.
    // A generation's rollup rows are few (one per group and interval), one insert block.
    for (const r of spec.rollups) {
      await deps.cold.command(insertRollupSql(spec, r, deps.coldTarget), { gen }, { dedupToken: `${spec.table}:${gen}:rollup:${r.name}` });
    }
    await hook({ step: TIER_STEPS.rollups, table: spec.table, gen });
  }

  await commitRun(db, spec.table, gen, target, conv.checksum.rows, conv.bytesIn);
  return { rows: conv.checksum.rows, bytes: conv.bytesIn, checksum: formatChecksum(conv.checksum), expired };
}

/** How long a commit waits for READ COMMITTED readers of the table to finish their transactions. */
const READ_LOCK_WAIT_MS = 30_000;

/**
 * Takes the tier read lock exclusively (see catalog/tier-read-lock.ts). Tried, never
 * queued: a queued exclusive request would make every new reader wait behind it.
 */
async function lockOutReaders(db: Client, table: string): Promise<void> {
  const deadline = Date.now() + READ_LOCK_WAIT_MS;
  for (let wait = 10; ; wait = Math.min(wait * 2, 500)) {
    const r = await db.query<{ ok: boolean }>(TIER_READ_LOCK_TRY_EXCLUSIVE_SQL, [table]);
    if (r.rows[0].ok) return;
    if (Date.now() > deadline) {
      throw new TieringError(
        TIERING_ERROR_CODES.readersBusy,
        `"${table}": READ COMMITTED transactions reading it through the proxy stayed open for ${READ_LOCK_WAIT_MS / 1000} s; nothing was committed, the next run retries`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

async function commitRun(db: Client, table: string, gen: string, target: Date, rows: number, bytes: number): Promise<void> {
  await lockOutReaders(db, table);
  await db.query(
    `UPDATE strata.tier_state SET watermark = $2, committed_gen = $3, running_gen = NULL,
       last_rows = $4, last_bytes = $5, last_error = NULL, total_rows_moved = total_rows_moved + $4
     WHERE table_name = $1`,
    [table, target.toISOString(), gen, rows, bytes],
  );
  await db.query('COMMIT');
}

/** hot-only tables: rows past retention are deleted, not moved. */
async function deleteExpired(db: Client, spec: TieredTableSpec, target: Date): Promise<Moved> {
  await db.query('BEGIN');
  const r = await db.query(`DELETE FROM ${hotTable(spec)} WHERE ${pgIdent(spec.timeColumn)} < $1`, [target.toISOString()]);
  const state = await db.query<{ gen: string }>('SELECT running_gen::text AS gen FROM strata.tier_state WHERE table_name = $1', [spec.table]);
  await commitRun(db, spec.table, state.rows[0].gen, target, r.rowCount ?? 0, 0);
  return { rows: r.rowCount ?? 0, bytes: 0, checksum: '' };
}
