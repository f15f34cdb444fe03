#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { Client } from 'pg';
import {
  applyTable,
  ApplyRefusedError,
  createColdStore,
  createTieringMetrics,
  parseTieredTableDocuments,
  runTiering,
  tableStatuses,
  TieredTableValidationError,
  validateResource,
  type ColdStore,
  type TierProgress,
  type TieredTableSpec,
} from '@strata/core';
import { insertDemoRows } from './demo-rows';
import { connect } from './pg-connect';
import { up } from './up/up';
import { UP_SERVICES } from './up/services';
import { resolveConfig, type CliConfig, type CliFlags } from './config';

/** The `strata` command: provision, tier and inspect tiered tables without Kubernetes. */

const program = new Command('strata')
  .description('Strata: hot PostgreSQL, cold ClickHouse, one table')
  .option('--pg <url>', 'PostgreSQL URL (default: $STRATA_PG_URL)')
  .option('--clickhouse <url>', 'ClickHouse HTTP URL (default: $STRATA_CLICKHOUSE_URL; credentials from $STRATA_CLICKHOUSE_USER/_PASSWORD)')
  .option('--clickhouse-path <dir>', 'embedded ClickHouse (chDB) data directory (default: $STRATA_CLICKHOUSE_PATH or .data/clickhouse)')
  .option('--clickhouse-database <name>', 'ClickHouse database (default: strata)');

function config(): CliConfig {
  return resolveConfig(program.opts<CliFlags>(), process.env);
}

/** Written aside then renamed, so a collector never reads half a file. */
async function writeTextfile(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

async function withStores<T>(fn: (hot: Client, cold: ColdStore, cfg: CliConfig) => Promise<T>): Promise<T> {
  const cfg = config();
  const hot = await connect(cfg.pgUrl);
  const cold = await createColdStore(cfg.cold);
  try {
    return await fn(hot, cold, cfg);
  } finally {
    await hot.end().catch(() => undefined);
    await cold.close().catch(() => undefined);
  }
}

program
  .command('apply')
  .description('create or evolve the tables described by TieredTable manifests')
  .requiredOption('-f, --file <path>', 'YAML file with one or more TieredTable documents')
  .action(async (opts: { file: string }) => {
    const docs = parseTieredTableDocuments(readFileSync(opts.file, 'utf8'));
    // Validate every document before touching any database: a bad spec creates nothing.
    const specs: TieredTableSpec[] = docs.map((d) => validateResource(d));
    await withStores(async (hot, cold, cfg) => {
      for (const spec of specs) {
        const r = await applyTable({ hot, cold, coldTarget: { database: cfg.cold.database } }, spec);
        console.log(`${spec.table}: ${r.action}${r.changes.length ? ' — ' + r.changes.join('; ') : ''}`);
      }
    });
  });

program
  .command('tier')
  .description('move rows older than the watermark target to ClickHouse (exactly once)')
  .requiredOption('-t, --table <name>', 'tiered table')
  .option('--until <timestamp>', 'explicit target watermark (ISO 8601), for tests and backfills')
  .option('--json', 'print the result as JSON')
  .option('--metrics-textfile <path>', "write the run's Prometheus metrics here (node_exporter textfile collector), also on failure")
  .action(async (opts: { table: string; until?: string; json?: boolean; metricsTextfile?: string }) => {
    const until = opts.until ? parseTimestamp(opts.until) : undefined;
    const metrics = createTieringMetrics();
    await withStores(async (_hot, cold, cfg) => {
      let result;
      try {
        result = await runTiering(
          { openHot: () => connect(cfg.pgUrl), cold, coldTarget: { database: cfg.cold.database } },
          { table: opts.table, until, onStep: progressPrinter() },
        );
        metrics.recordRun(result);
      } catch (err) {
        metrics.recordFailure(opts.table, err as Error);
        throw err;
      } finally {
        if (opts.metricsTextfile) await writeTextfile(opts.metricsTextfile, await metrics.registry.metrics());
      }
      if (opts.json) console.log(JSON.stringify(result));
      else {
        const rate = result.durationMs > 0 ? Math.round((result.rows / result.durationMs) * 1000) : 0;
        console.log(
          `${result.table}: moved ${result.rows} rows (${formatBytes(result.bytes)}) in ${(result.durationMs / 1000).toFixed(1)}s ` +
            `(${rate} rows/s); watermark ${result.previousWatermark} → ${result.watermark}; dropped ${result.droppedPartitions} partitions` +
            (result.quarantinedRows > 0
              ? `; set aside ${result.quarantinedRows} row${result.quarantinedRows === 1 ? '' : 's'} the cold tier cannot hold (strata.quarantine)`
              : ''),
        );
      }
    });
  });

program
  .command('status')
  .description('per table: watermark, rows per tier, rows set aside in strata.quarantine, lag, last run')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    await withStores(async (hot, cold, cfg) => {
      const rows = await tableStatuses(hot, cold, { database: cfg.cold.database });
      if (opts.json) return console.log(JSON.stringify(rows, null, 2));
      console.log(['TABLE', 'MODE', 'WATERMARK', 'HOT ROWS', 'COLD ROWS', 'QUARANTINED', 'LAG', 'LAST RUN'].join('\t'));
      for (const s of rows) {
        const last = s.lastRun.error ? `error: ${s.lastRun.error}` : s.lastRun.finishedAt ? `${s.lastRun.rows ?? 0} rows at ${s.lastRun.finishedAt}` : 'never';
        console.log([s.table, s.mode, s.watermark, s.rowsHot ?? '-', s.rowsCold ?? '-', s.rowsQuarantined ?? '-', s.lagSeconds === null ? '-' : `${s.lagSeconds}s`, last].join('\t'));
      }
    });
  });

program
  .command('demo-data')
  .description('insert the corpus dataset\'s rows for the last N hours (up to now) into a table shaped like metrics_events')
  .option('-t, --table <name>', 'target table', 'metrics_events')
  .option('--hours <n>', 'how many hours back from now', '72')
  .action(async (opts: { table: string; hours: string }) => {
    const hours = Number(opts.hours);
    if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 366) throw new Error('--hours: a whole number of hours from 1 to 8784');
    await withStores(async (hot) => console.log(await insertDemoRows(hot, opts.table, hours)));
  });

program
  .command('up')
  .description('run all of Strata in one process: embedded PostgreSQL and ClickHouse, the example tables, tiering, the proxy and the gateway')
  .option('--data-dir <dir>', 'where all state lives (survives restarts)', '.data/strata')
  .option('-f, --file <path>', 'TieredTable manifests to apply', repoFile('examples', 'tieredtables.yaml'))
  .option('--demo', 'write demo metrics for the last --demo-hours hours (idempotent) and tier them')
  .option('--demo-hours <n>', 'hours of demo data', '72')
  .option('--host <addr>', 'address the proxy and gateway listen on', '127.0.0.1')
  .option('--proxy-port <n>', 'PostgreSQL-wire proxy port', '6543')
  .option('--gateway-port <n>', 'ingest gateway HTTP port', '8080')
  .option('--otlp-grpc-port <n>', 'OTLP/gRPC and Arrow Flight port', '4317')
  .option('--pg-port <n>', 'embedded PostgreSQL port (when --pg / STRATA_PG_URL is not set)', '6544')
  .option('--buffer <url>', 'buffer ingest in NATS JetStream (nats://host:port) instead of writing straight to the stores')
  .action(async (opts: { dataDir: string; file: string; demo?: boolean; demoHours: string; host: string; proxyPort: string; gatewayPort: string; otlpGrpcPort: string; pgPort: string; buffer?: string }) => {
    const log = (line: string) => console.error(`strata: ${line}`);
    const running = await up(
      {
        dataDir: opts.dataDir,
        pgUrl: program.opts<CliFlags>().pg ?? process.env.STRATA_PG_URL,
        embeddedPgPort: port(opts.pgPort, '--pg-port'),
        manifests: opts.file,
        demo: Boolean(opts.demo),
        demoHours: Number(opts.demoHours),
        host: opts.host,
        proxyPort: port(opts.proxyPort, '--proxy-port'),
        gatewayPort: port(opts.gatewayPort, '--gateway-port'),
        otlpGrpcPort: port(opts.otlpGrpcPort, '--otlp-grpc-port'),
        buffer: opts.buffer,
        log,
      },
      UP_SERVICES,
    );
    console.log('Strata is up.');
    for (const s of running.services) for (const line of s.connectInfo) console.log(`  ${line}`);
    console.log('Ctrl-C stops it; data stays in ' + opts.dataDir);
    await new Promise<void>((resolveStop) => {
      let stopping = false;
      const onSignal = () => {
        if (stopping) return;
        stopping = true;
        log('stopping: draining sessions and flushing acknowledged writes');
        running.stop().then(resolveStop, (e: Error) => {
          log(`stop failed: ${e.message}`);
          resolveStop();
        });
      };
      // `strata up` owns the order of a stop, whatever signal hooks a library installed:
      // endpoints drain and writers flush first, PostgreSQL stops last (the embedded
      // server runs in its own process group, so a terminal's Ctrl-C or hang-up reaches
      // only us; unhandled, a hang-up would end us and leave the server running).
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
        process.removeAllListeners(signal);
        process.on(signal, onSignal);
      }
    });
    log('stopped');
  });

function port(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag}: "${value}" is not a TCP port (0 picks a free one)`);
  return n;
}

function repoFile(...parts: string[]): string {
  return join(__dirname, '..', '..', ...parts);
}

// The long-running servers. Each reads its configuration from the environment (see its
// README); the subcommand only hands the process over to the server's own entry point.
const SERVERS = {
  proxy: 'the PostgreSQL-wire query endpoint (STRATA_PROXY_* settings)',
  gateway: 'the ingest gateway: REST, OTLP, Prometheus remote write, Influx, Arrow Flight (STRATA_GATEWAY_* settings)',
  operator: 'the Kubernetes operator for TieredTable resources (STRATA_OPERATOR_* settings)',
} as const;
for (const [name, description] of Object.entries(SERVERS)) {
  program
    .command(name)
    .description(description)
    .action(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(`@strata/${name}/dist/main.js`);
    });
}

program
  .command('writer')
  .description('apply the gateway\'s NATS JetStream ingest buffer to the stores, exactly once (STRATA_GATEWAY_BUFFER, STRATA_PG_URL, STRATA_CLICKHOUSE_* settings)')
  .action(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@strata/gateway/dist/writer/main.js');
  });

function parseTimestamp(s: string): Date {
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new Error(`--until: "${s}" is not an ISO 8601 timestamp`);
  return d;
}

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

/**
 * Progress on stderr, one line per step. For the fault tests, STRATA_TEST_PAUSE_AT=<step>
 * makes the run stop at the first such step, for STRATA_TEST_PAUSE_MS (default: for
 * ever), so a test can kill it, or a database under it, right there.
 */
function progressPrinter(): (p: TierProgress) => Promise<void> {
  let pauseAt = process.env.STRATA_TEST_PAUSE_AT;
  const pauseMs = process.env.STRATA_TEST_PAUSE_MS ? Number(process.env.STRATA_TEST_PAUSE_MS) : undefined;
  return async (p) => {
    const extra = [p.rows !== undefined ? `${p.rows} rows` : '', p.watermark ? `→ ${p.watermark}` : '', p.detail ?? ''].filter(Boolean).join(' ');
    console.error(`[${p.table}] ${p.step}${p.gen ? ` gen ${p.gen}` : ''}${extra ? ': ' + extra : ''}`);
    if (pauseAt && pauseAt === p.step) {
      pauseAt = undefined;
      console.error(`paused at ${p.step}`);
      await new Promise((resolve) => (pauseMs === undefined ? undefined : setTimeout(resolve, pauseMs)));
    }
  };
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof TieredTableValidationError || err instanceof ApplyRefusedError) console.error(err.message);
  else console.error(`strata: ${(err as Error).message ?? String(err)}`);
  process.exitCode = 1;
});
