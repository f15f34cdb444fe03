import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  applyTable,
  createColdStore,
  listRegisteredTables,
  parseTieredTableDocuments,
  startTieringScheduler,
  validateResource,
  type ColdStore,
  type TieringScheduler,
} from '@strata/core';
import { insertDemoRows } from '../demo-rows';
import { connect } from '../pg-connect';
import { loadOrCreateCredentials, writePgpass, type Credentials } from './credentials';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';

/**
 * `strata up`: the whole of Strata in one process on a laptop — PostgreSQL (embedded,
 * unless one is configured), the ClickHouse engine in-process (chDB), the example
 * tables, the tiering scheduler, and the query and ingest endpoints — with all state
 * in one data directory that survives restarts.
 */
export interface UpOptions {
  dataDir: string;
  /** Use this PostgreSQL instead of starting the embedded one. */
  pgUrl?: string;
  embeddedPgPort: number;
  manifests: string;
  demo: boolean;
  demoHours: number;
  host: string;
  proxyPort: number;
  gatewayPort: number;
  otlpGrpcPort: number;
  /** `nats://…`: the gateway buffers ingest in this NATS JetStream (issue 18); absent: direct writes. */
  buffer?: string;
  log: (line: string) => void;
}

/** A long-running part started after the stores are ready (the proxy, the gateway). */
export interface UpService {
  name: string;
  /** Lines telling a user how to reach it. */
  connectInfo: string[];
  stop(): Promise<void>;
}

export interface UpContext {
  options: UpOptions;
  credentials: Credentials;
  pgUrl: string;
  cold: ColdStore;
  coldDatabase: string;
  dataDir: string;
}

export type UpServiceStarter = (ctx: UpContext) => Promise<UpService>;

export interface RunningStrata {
  pgUrl: string;
  services: UpService[];
  scheduler: TieringScheduler;
  stop(): Promise<void>;
}

const COLD_DATABASE = 'strata';

export async function up(options: UpOptions, starters: UpServiceStarter[]): Promise<RunningStrata> {
  const log = options.log;
  const dataDir = resolve(options.dataDir);
  // Parents made here get the ordinary mode (mkdir's mode would apply to every level it
  // creates); the data directory itself is the user's alone. Nothing here is opened to
  // the embedded PostgreSQL's server account: what it needs lives where it can reach it.
  makeDataDir(dataDir);
  const credentials = loadOrCreateCredentials(dataDir);
  const specs = parseTieredTableDocuments(readFileSync(options.manifests, 'utf8')).map((d) => validateResource(d));

  let embedded: EmbeddedPostgres | undefined;
  let pgUrl = options.pgUrl;
  if (!pgUrl) {
    embedded = await startEmbeddedPostgres({ dataDir, port: options.embeddedPgPort, password: credentials.postgresPassword, database: 'strata', log });
    pgUrl = embedded.url;
    log(`PostgreSQL 15 (embedded) on 127.0.0.1:${options.embeddedPgPort}, data in ${embedded.clusterDir}`);
  }
  const cold = createColdStore({ kind: 'embedded', path: join(dataDir, 'clickhouse'), database: COLD_DATABASE });
  log(`ClickHouse engine (embedded, chDB), data in ${join(dataDir, 'clickhouse')}`);

  const services: UpService[] = [];
  let scheduler: TieringScheduler | undefined;
  const stop = async () => {
    await scheduler?.stop();
    for (const s of [...services].reverse()) await s.stop().catch((e: Error) => log(`stopping ${s.name}: ${e.message}`));
    await cold.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
  };

  try {
    const hot = await connect(pgUrl);
    try {
      for (const spec of specs) {
        const r = await applyTable({ hot, cold, coldTarget: { database: COLD_DATABASE } }, spec);
        log(`${spec.table}: ${r.action}${r.changes.length ? ' — ' + r.changes.join('; ') : ''}`);
      }
      if (options.demo && specs.some((s) => s.table === 'metrics_events')) {
        log(await insertDemoRows(hot, 'metrics_events', options.demoHours));
      }
    } finally {
      await hot.end();
    }

    scheduler = startTieringScheduler({
      deps: { openHot: () => connect(pgUrl!), cold, coldTarget: { database: COLD_DATABASE } },
      tables: async () => {
        const c = await connect(pgUrl!);
        try {
          return await listRegisteredTables(c);
        } finally {
          await c.end();
        }
      },
      onResult: (r) => {
        if (r.rows > 0) log(`tiered ${r.table}: ${r.rows} rows to ClickHouse in ${(r.durationMs / 1000).toFixed(1)}s; watermark ${r.watermark}`);
      },
      onError: (table, err) => log(`tiering ${table} failed: ${err.message}`),
    });
    // Tier what is already due before serving, so the first query sees both tiers.
    await scheduler.runDue();

    const ctx: UpContext = { options, credentials, pgUrl, cold, coldDatabase: COLD_DATABASE, dataDir };
    for (const start of starters) services.push(await start(ctx));
  } catch (err) {
    await stop();
    throw err;
  }
  return { pgUrl, services, scheduler, stop };
}

function makeDataDir(dataDir: string): void {
  try {
    mkdirSync(dirname(dataDir), { recursive: true });
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'EACCES' && e.code !== 'EPERM' && e.code !== 'EROFS') throw err;
    throw new Error(`cannot create the data directory ${dataDir} (${e.code}): pick one you can write with --data-dir (make up: STRATA_DATA_DIR=…)`, { cause: err });
  }
}

export { writePgpass };
