import { Client, Pool } from 'pg';
import { ensurePartitions, pgIdent, runTiering, validateTieredTable, type TieredTableSpec } from '@strata/core';
import { resolveProxyConfig } from '../../proxy/src/config';
import { startTieredProxy, type RunningTieredProxy } from '../../proxy/src/tiered-proxy';
import { createTierEngine, loadCatalogSnapshot, type EngineLogger, type TierEngine } from '../../proxy/src/engine';
import type { EngineResult, SessionContext } from '../../proxy/src/engine/contract';
import { loadSqlParser } from '../../proxy/src/router';
import { tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';
import { compareOutcomes, type Outcome } from './corpus/compare';
import { explainText } from './top-k-cold-read';

/**
 * Differential tests compare a tiered table's answers with a plain reference table
 * holding the same rows in PostgreSQL alone. Two ways in: through the real proxy
 * (`startDifferentialBed`: `client` reads through it, `ref` reads PostgreSQL directly),
 * or straight into the engine (`startEngineBed`, for tests that look at what the engine
 * logs, build engines with other options, or set up the tiers by hand).
 */

/** Every value as the text PostgreSQL prints. */
const textRows = { getTypeParser: () => (v: string) => v };

/** A tiered table's spec, validated: a test's spec is a literal, and a bad one fails the suite. */
export function tieredSpec(raw: Record<string, unknown>): TieredTableSpec {
  const r = validateTieredTable(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

export interface DifferentialTableOptions {
  /** The reference table's name. */
  reference: string;
  /**
   * Its column list, e.g. `(time timestamptz, host text)`; by default the tiered table's
   * columns and types (with `collations`), without constraints.
   */
  columns?: string;
  /** Statements run in the test database before the reference is created, e.g. a CREATE COLLATION. */
  setup?: string[];
  /**
   * Collation names by column, e.g. `{ app: 'C' }`. The spec has no collations: the hot
   * table is given them by ALTER TABLE once loaded, as a user would (the cold rows are
   * ClickHouse Strings either way); a derived reference has them from the start.
   */
  collations?: Record<string, string>;
  /** A SELECT of the rows both tables hold. */
  rows: string;
  /** Rows added to both after tiering (late hot rows below W, if their time is). */
  late?: string;
  /** Hot partitions to create, and the watermark the tiered table is tiered to. */
  partitions: [string, string];
  watermark: string;
}

/**
 * Fills `spec`'s tiered table (already created in `fx`) and its reference table with the
 * same rows, and tiers the tiered one to the watermark.
 */
export async function loadDifferentialTable(fx: TieredFixture, spec: TieredTableSpec, opts: DifferentialTableOptions): Promise<void> {
  const tables = [spec.table, opts.reference];
  const collated = collatedTypes(spec, opts.collations ?? {});
  for (const statement of opts.setup ?? []) await fx.hot.query(statement);
  await ensurePartitions(fx.hot, spec, new Date(opts.partitions[0]), new Date(opts.partitions[1]));
  const columns = opts.columns ?? `(${spec.columns.map((c) => `${pgIdent(c.name)} ${collated.get(c.name) ?? c.type}`).join(', ')})`;
  await fx.hot.query(`CREATE TABLE ${opts.reference} ${columns}`);
  for (const t of tables) await fx.hot.query(`INSERT INTO ${t} ${opts.rows}`);
  await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: spec.table, until: new Date(opts.watermark) });
  if (opts.late) for (const t of tables) await fx.hot.query(`INSERT INTO ${t} ${opts.late}`);
  if (collated.size > 0) {
    const alters = [...collated].map(([column, type]) => `ALTER COLUMN ${pgIdent(column)} TYPE ${type}`);
    await fx.hot.query(`ALTER TABLE ${spec.table} ${alters.join(', ')}`);
  }
}

/** Each collated column's type with its COLLATE clause, e.g. `text COLLATE "C"`. */
function collatedTypes(spec: TieredTableSpec, collations: Record<string, string>): Map<string, string> {
  return new Map(
    Object.entries(collations).map(([column, collation]) => {
      const c = spec.columns.find((col) => col.name === column);
      if (!c) throw new Error(`collations: no column ${column} in ${spec.table}`);
      return [column, `${c.type} COLLATE ${pgIdent(collation)}`];
    }),
  );
}

/** Through the real proxy: `client` reads through it, `ref` reads PostgreSQL directly. */
export interface DifferentialBed {
  fx: TieredFixture;
  /** The tiered table's name, and the reference's. */
  table: string;
  reference: string;
  proxy: RunningTieredProxy;
  client: Client;
  ref: Client;
  close(): Promise<void>;
}

export interface DifferentialBedOptions extends DifferentialTableOptions {
  password: string;
  /** The proxy's settings beside the bed's own (listen address, backend, user). */
  proxyConfig?: Partial<Parameters<typeof resolveProxyConfig>[0]>;
}

/** A tiered proxy over the fixture's databases (user postgres, `password`), and a client connected through it. */
export async function proxyOver(
  fx: TieredFixture,
  password: string,
  proxyConfig?: DifferentialBedOptions['proxyConfig'],
): Promise<{ proxy: RunningTieredProxy; client: Client }> {
  const pino = (await import('pino')).default;
  const proxy = await startTieredProxy(resolveProxyConfig({ ...proxyConfig, listen: '127.0.0.1:0', backendUrl: fx.pgUrl, users: { postgres: password } }), {
    pgUrl: fx.pgUrl,
    cold: fx.cold,
    coldDatabase: fx.database,
    logger: pino({ level: process.env.STRATA_TEST_LOG ?? 'silent' }),
  });
  const database = new URL(fx.pgUrl).pathname.slice(1);
  const client = new Client({ connectionString: `postgres://postgres:${password}@${proxy.host}:${proxy.port}/${database}` });
  await client.connect();
  return { proxy, client };
}

export async function startDifferentialBed(spec: TieredTableSpec, opts: DifferentialBedOptions): Promise<DifferentialBed> {
  const fx = await tieredFixture(spec);
  await loadDifferentialTable(fx, spec, opts);
  const { proxy, client } = await proxyOver(fx, opts.password, opts.proxyConfig);
  const ref = new Client({ connectionString: fx.pgUrl });
  await ref.connect();
  return {
    fx,
    table: spec.table,
    reference: opts.reference,
    proxy,
    client,
    ref,
    async close() {
      await client.end().catch(() => undefined);
      await ref.end().catch(() => undefined);
      await proxy.close();
      await fx.close();
    },
  };
}

/** What a caller expects of an answer beside its being the reference's. */
export interface AnswerExpectations {
  /** The reference answers without error (the statement is one of answers, not of errors). */
  referenceAnswers?: boolean;
  /** Strata answers with at least one row (two empty answers agree and prove nothing). */
  someRows?: boolean;
}

/**
 * Runs `sql` through the proxy and, the tiered table's name replaced by the reference's,
 * on PostgreSQL alone, and expects the same outcome in the same row order (or the same
 * error). Returns the proxy's EXPLAIN of `sql`, or '' when the reference failed (an
 * erroring statement has no plan).
 */
export async function sameAsReference(bed: DifferentialBed, sql: string, also: AnswerExpectations = {}): Promise<string> {
  const actual = await textOutcome(bed.client, sql);
  const expected = await textOutcome(bed.ref, onReference(bed, sql));
  if (also.referenceAnswers) expect(expected.ok).toBe(true);
  if (also.someRows) expect(actual.ok && actual.rows.length > 0).toBe(true);
  expect({ sql, diff: compareOutcomes(expected, actual, true) }).toEqual({ sql, diff: undefined });
  return expected.ok ? explainText(bed.client, sql) : '';
}

/**
 * Strata answers `sql` without error, and exactly as the reference does: fields, rows and
 * their order, every value the same text (no float tolerance: -0, NaN and the last digit
 * count).
 */
export async function expectSameAnswer(bed: DifferentialBed, sql: string): Promise<void> {
  const actual = await textOutcome(bed.client, sql);
  const expected = await textOutcome(bed.ref, onReference(bed, sql));
  // The error itself when Strata fails: its SQLSTATE and message say why.
  expect({ sql, error: actual.ok ? undefined : actual }).toEqual({ sql, error: undefined });
  expect({ sql, rows: actual }).toEqual({ sql, rows: expected });
}

/** `sql` over the reference table instead of the tiered one. */
function onReference(bed: DifferentialBed, sql: string): string {
  return sql.replace(new RegExp(`\\b${bed.table}\\b`, 'g'), bed.reference);
}

/** The query an EXPLAIN's text sends to ClickHouse ('' when none). */
export function coldSqlOf(plan: string): string {
  return /ClickHouse: (SELECT .*)/.exec(plan)?.[1] ?? '';
}

/**
 * Straight into the engine, over the catalog as it is when started (tier the tables
 * first): `engine` answers from `pool`'s connections, `ref` reads PostgreSQL directly
 * with every value as text. The bed owns `fx` from then on and closes it.
 */
export interface EngineBed {
  fx: TieredFixture;
  pool: Pool;
  engine: TierEngine;
  ref: Client;
  close(): Promise<void>;
}

export interface EngineBedOptions {
  /** The pool's connections (default 2). */
  poolSize?: number;
  logger?: EngineLogger;
  /** The reference session's TimeZone; the server's default when not given. */
  timeZone?: string;
}

export async function startEngineBed(fx: TieredFixture, opts: EngineBedOptions = {}): Promise<EngineBed> {
  await loadSqlParser();
  const pool = new Pool({ connectionString: fx.pgUrl, max: opts.poolSize ?? 2 });
  const catalog = await loadCatalogSnapshot(fx.hot);
  const engine = createTierEngine({ hot: pool, cold: fx.cold, coldDatabase: fx.database, catalog, ...(opts.logger ? { logger: opts.logger } : {}) });
  const ref = new Client({ connectionString: fx.pgUrl, types: textRows });
  await ref.connect();
  if (opts.timeZone) await ref.query(`SET TimeZone = '${opts.timeZone}'`);
  return {
    fx,
    pool,
    engine,
    ref,
    async close() {
      await ref.end().catch(() => undefined);
      await pool.end();
      await fx.close();
    },
  };
}

/** An engine session of user postgres in `timeZone`, outside a transaction block. */
export function engineSession(timeZone = 'UTC'): SessionContext {
  return { user: 'postgres', database: 'test', inTransaction: false, settings: new Map([['TimeZone', timeZone]]) };
}

export async function engineRows(r: EngineResult): Promise<Array<Array<string | null>>> {
  const out: Array<Array<string | null>> = [];
  for await (const row of r.rows) out.push(row);
  return out;
}

/** The engine's answer as text rows; its errors are thrown, not returned (a test expects none). */
export async function engineOutcome(engine: TierEngine, sql: string, session: SessionContext, params: Array<string | null> = []): Promise<Outcome> {
  const r = await engine.execute({ sql, params, paramTypes: [] }, session);
  return { ok: true, fields: r.fields.map((f) => ({ name: f.name, typeOid: f.typeOid })), rows: await engineRows(r) };
}

/** The statement's result as text (every value as PostgreSQL prints it), or its error. */
export async function textOutcome(c: Client, sql: string, values?: unknown[]): Promise<Outcome> {
  try {
    const r = await c.query({ text: sql, values, rowMode: 'array', types: textRows });
    return { ok: true, fields: r.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })), rows: r.rows as Array<Array<string | null>> };
  } catch (err) {
    return { ok: false, code: (err as { code?: string }).code ?? '?', message: (err as Error).message };
  }
}
