import pino from 'pino';
import { DATASET_START, ensurePartitions, FULL_MINUTES, runTiering } from '@strata/core';
import { resolveProxyConfig } from '../../proxy/src/config';
import { startTieredProxy, type RunningTieredProxy } from '../../proxy/src/tiered-proxy';
import { tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';
import { loadObservability, observabilitySpec } from './corpus/observability-dataset';

/** observability_events alone, holding the dataset, behind the real tiered proxy. */
export interface ObservabilityBed {
  fx: TieredFixture;
  proxy: RunningTieredProxy;
  /** The PostgreSQL database name (the proxy serves the same one). */
  database: string;
  /** postgres:// URL through the proxy as `user`. */
  url: string;
  close(): Promise<void>;
}

/** `tierTo`: a first tiering run before the proxy starts; `poolSize`: the proxy's servers per pool. */
export async function startObservabilityBed(user: string, password: string, opts: { tierTo?: string; poolSize?: number } = {}): Promise<ObservabilityBed> {
  const spec = observabilitySpec();
  const fx = await tieredFixture(spec);
  try {
    await ensurePartitions(fx.hot, spec, new Date(DATASET_START), new Date(DATASET_START + FULL_MINUTES * 60_000));
    await loadObservability(fx.hot);
    if (opts.tierTo) await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: spec.table, until: new Date(opts.tierTo) });
    const proxy = await startTieredProxy(resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: fx.pgUrl, users: { [user]: password }, poolSize: opts.poolSize }), {
      pgUrl: fx.pgUrl,
      cold: fx.cold,
      coldDatabase: fx.database,
      logger: pino({ level: process.env.STRATA_TEST_LOG ?? 'silent' }),
    });
    const database = new URL(fx.pgUrl).pathname.slice(1);
    return {
      fx,
      proxy,
      database,
      url: `postgres://${user}:${encodeURIComponent(password)}@${proxy.host}:${proxy.port}/${database}`,
      async close() {
        await proxy.close();
        await fx.close();
      },
    };
  } catch (err) {
    await fx.close().catch(() => undefined);
    throw err;
  }
}
