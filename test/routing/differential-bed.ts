import { Client } from 'pg';
import { ensurePartitions, runTiering, type TieredTableSpec } from '@strata/core';
import { resolveProxyConfig } from '../../proxy/src/config';
import { startTieredProxy, type RunningTieredProxy } from '../../proxy/src/tiered-proxy';
import { tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';
import type { Outcome } from './corpus/compare';

/**
 * A tiered table behind the real proxy and a plain reference table holding the same rows
 * in PostgreSQL alone, for differential tests: `client` reads through the proxy, `ref`
 * reads PostgreSQL directly.
 */
export interface DifferentialBed {
  fx: TieredFixture;
  proxy: RunningTieredProxy;
  client: Client;
  ref: Client;
  close(): Promise<void>;
}

export interface DifferentialBedOptions {
  /** The reference table's name and column list, e.g. `(time timestamptz, host text)`. */
  reference: string;
  columns: string;
  /** A SELECT of the rows both tables hold. */
  rows: string;
  /** Rows added to both after tiering (late hot rows below W, if their time is). */
  late?: string;
  /** Hot partitions to create, and the watermark the tiered table is tiered to. */
  partitions: [string, string];
  watermark: string;
  password: string;
}

export async function startDifferentialBed(spec: TieredTableSpec, opts: DifferentialBedOptions): Promise<DifferentialBed> {
  const fx = await tieredFixture(spec);
  const tables = [spec.table, opts.reference];
  await ensurePartitions(fx.hot, spec, new Date(opts.partitions[0]), new Date(opts.partitions[1]));
  await fx.hot.query(`CREATE TABLE ${opts.reference} ${opts.columns}`);
  for (const t of tables) await fx.hot.query(`INSERT INTO ${t} ${opts.rows}`);
  await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: spec.table, until: new Date(opts.watermark) });
  if (opts.late) for (const t of tables) await fx.hot.query(`INSERT INTO ${t} ${opts.late}`);
  const pino = (await import('pino')).default;
  const proxy = await startTieredProxy(resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: fx.pgUrl, users: { postgres: opts.password } }), {
    pgUrl: fx.pgUrl,
    cold: fx.cold,
    coldDatabase: fx.database,
    logger: pino({ level: process.env.STRATA_TEST_LOG ?? 'silent' }),
  });
  const database = new URL(fx.pgUrl).pathname.slice(1);
  const client = new Client({ connectionString: `postgres://postgres:${opts.password}@${proxy.host}:${proxy.port}/${database}` });
  await client.connect();
  const ref = new Client({ connectionString: fx.pgUrl });
  await ref.connect();
  return {
    fx,
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

const textRows = { getTypeParser: () => (v: string) => v };

/** The statement's result as text (every value as PostgreSQL prints it), or its error. */
export async function textOutcome(c: Client, sql: string, values?: unknown[]): Promise<Outcome> {
  try {
    const r = await c.query({ text: sql, values, rowMode: 'array', types: textRows });
    return { ok: true, fields: r.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })), rows: r.rows as Array<Array<string | null>> };
  } catch (err) {
    return { ok: false, code: (err as { code?: string }).code ?? '?', message: (err as Error).message };
  }
}
