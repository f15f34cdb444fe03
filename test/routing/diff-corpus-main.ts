// `make diff-corpus CORPUS=<file> [MODE=<mode>] [DRIVER=<driver>]`: the differential
// corpus run (shared/corpus/README.md).
//   node .build/test/routing/diff-corpus-main.js --corpus FILE [--watermark TS]...
//     [--mode autocommit|txn|txn-rr|view|cursor|all[,…]] [--driver psycopg2|jdbc|all[,…]]
//     [--via-proxy URL|in-process [--pgx simple|extended]]
// Loads the dataset into a reference database and a tiered metrics_events, tiers to
// each watermark, runs every entry against both and prints failures with both
// results. In autocommit mode without --via-proxy, entries go through the router and
// QueryEngine.execute in-process; with it, through a PostgreSQL client connected to URL
// (a Strata proxy whose backend is the tiered database this run prints).
// `--via-proxy in-process` starts Strata's proxy (startProxy) in this process over that
// database, with this router and engine, and connects a real client to it. The other
// modes (corpus/corpus-modes.ts) and the drivers (corpus/driver-runner.ts) read in a
// transaction block, which only a session through the proxy has: they go through the
// in-process proxy unless --via-proxy names one. Prints `N passed, M failed, K
// unsupported` per mode and watermark, per mode, and in all.
import * as proxy from '@strata/proxy';
import { withClient } from '../support/postgres';
import { CORPUS_WATERMARKS, startCorpusBed } from './corpus/corpus-bed';
import { readCorpus, type CorpusEntry } from './corpus/corpus-file';
import { CORPUS_MODES, connectModeRunner, CREATE_CORPUS_VIEW_SQL, isCorpusMode, type CorpusMode } from './corpus/corpus-modes';
import { startCorpusProxy } from './corpus/corpus-proxy';
import { diffCorpus, precomputedRunner, scoreLine } from './corpus/diff-corpus';
import { CORPUS_DRIVERS, isCorpusDriver, missingDriver, runDriverCorpus, type CorpusDriver } from './corpus/driver-runner';
import { runPgxCorpus, type PgxMode } from './corpus/pgx-runner';
import { connectEngineRunner, type CorpusRunner } from './corpus/runners';

interface Args {
  corpus: string;
  watermarks: string[];
  modes: CorpusMode[];
  drivers: CorpusDriver[];
  viaProxy?: string;
  pgx?: PgxMode;
}

function listArg<T extends string>(value: string, all: readonly T[], is: (s: string) => s is T, what: string): T[] {
  if (value === 'all') return [...all];
  return value.split(',').map((v) => {
    if (!is(v)) throw new Error(`${what} takes ${all.join(', ')} or all, not ${v}`);
    return v;
  });
}

function parseArgs(argv: string[]): Args {
  let corpus = process.env.CORPUS ?? '';
  const watermarks: string[] = [];
  let modes: CorpusMode[] | undefined;
  let drivers: CorpusDriver[] = [];
  let viaProxy: string | undefined;
  let pgx: PgxMode | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--corpus') corpus = argv[++i];
    else if (a === '--watermark') watermarks.push(argv[++i]);
    else if (a === '--mode') modes = listArg(argv[++i], CORPUS_MODES, isCorpusMode, '--mode');
    else if (a === '--driver') drivers = argv[++i] === '' ? [] : listArg(argv[i], CORPUS_DRIVERS, isCorpusDriver, '--driver');
    else if (a === '--via-proxy') viaProxy = argv[++i];
    else if (a === '--pgx') pgx = argv[++i] as PgxMode;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!corpus) throw new Error('usage: diff-corpus --corpus FILE [--watermark TS]... [--mode MODE[,…]|all] [--driver psycopg2|jdbc|all] [--via-proxy URL|in-process [--pgx simple|extended]]');
  // Only drivers asked for: the modes are not run unless named too.
  modes ??= drivers.length > 0 ? [] : ['autocommit'];
  if (pgx && !viaProxy) throw new Error('--pgx needs --via-proxy');
  if (pgx && pgx !== 'simple' && pgx !== 'extended') throw new Error('--pgx takes simple or extended');
  if (pgx && (drivers.length > 0 || modes.some((m) => m !== 'autocommit'))) throw new Error('--pgx runs the corpus in autocommit mode only');
  // A transaction block, a view created by the client, a cursor: a client session through a proxy.
  if (!viaProxy && (drivers.length > 0 || modes.some((m) => m !== 'autocommit'))) viaProxy = 'in-process';
  return { corpus, watermarks: watermarks.length > 0 ? watermarks.sort() : [...CORPUS_WATERMARKS], modes, drivers, viaProxy, pgx };
}

/** One way of reading the corpus: the runners for the reference database and for Strata. */
interface CorpusRun {
  label: string;
  connect(entries: CorpusEntry[]): Promise<{ reference: CorpusRunner; strata: CorpusRunner }>;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const entries = readCorpus(args.corpus);
  const started = Date.now();
  const bed = await startCorpusBed(proxy);
  const totals = new Map<string, { passed: number; failed: number; unsupported: number }>();
  try {
    console.log(`corpus ${args.corpus}: ${entries.length} entries; dataset loaded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (args.viaProxy) console.log(`tiered database for the proxy: ${bed.tiered.pgUrl} (ClickHouse HTTP ${bed.tiered.chUrl}, database ${bed.tiered.database})`);
    let proxyUrl = args.viaProxy;
    let running: { close(): Promise<void> } | undefined;
    if (args.viaProxy === 'in-process') {
      const p = await startCorpusProxy(bed, proxy);
      running = p.proxy;
      proxyUrl = p.url;
      console.log(`in-process proxy on ${p.proxy.host}:${p.proxy.port}`);
    }
    try {
      if (args.modes.includes('view')) {
        // The view is the client's: created through the proxy, as a user would.
        await withClient(bed.reference.url, (c) => c.query(CREATE_CORPUS_VIEW_SQL));
        await withClient(proxyUrl!, (c) => c.query(CREATE_CORPUS_VIEW_SQL));
        // The proxy re-reads its catalog after view DDL without waiting for it; the
        // readers are other sessions. (A proxy of its own re-reads it periodically.)
        await bed.refreshCatalog();
      }
      const runs: CorpusRun[] = [
        ...args.modes.map((mode): CorpusRun => ({
          label: args.pgx ? `pgx ${args.pgx}` : `mode ${mode}`,
          connect: async (es) => ({
            reference: await connectModeRunner(bed.reference.url, mode, proxy),
            strata: args.pgx
              ? precomputedRunner(es, await runPgxCorpus(proxyUrl!, es, args.pgx, proxy))
              : proxyUrl
                ? await connectModeRunner(proxyUrl, mode, proxy)
                : await connectEngineRunner(bed.tiered.pgUrl, bed.router, bed.engine, proxy),
          }),
        })),
        ...args.drivers.map((driver): CorpusRun => {
          const missing = missingDriver(driver);
          if (missing) throw new Error(missing);
          return {
            label: `driver ${driver}`,
            connect: async (es) => ({
              reference: precomputedRunner(es, await runDriverCorpus(driver, bed.reference.url, es)),
              strata: precomputedRunner(es, await runDriverCorpus(driver, proxyUrl!, es)),
            }),
          };
        }),
      ];
      for (const w of args.watermarks) {
        await bed.tierTo(w);
        for (const run of runs) {
          const before = { ...bed.engine.stats };
          const t0 = Date.now();
          const { reference, strata } = await run.connect(entries);
          try {
            const score = await diffCorpus(entries, reference, strata, proxy);
            for (const r of score.results) {
              if (r.status === 'failed') console.log(r.report);
              if (r.status === 'unsupported') console.log(`UNSUPPORTED ${r.name}: ${r.reason}`);
            }
            const routes = (['hot', 'cold', 'split', 'refused'] as const).map((k) => `${k} ${bed.engine.stats[k] - before[k]}`).join(', ');
            console.log(`${run.label}, engine statements at ${w}: ${routes}`);
            console.log(`${run.label}, watermark ${w}: ${scoreLine(score)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
            const total = totals.get(run.label) ?? { passed: 0, failed: 0, unsupported: 0 };
            total.passed += score.passed;
            total.failed += score.failed;
            total.unsupported += score.unsupported;
            totals.set(run.label, total);
          } finally {
            await reference.close();
            await strata.close();
          }
        }
      }
    } finally {
      await running?.close();
    }
  } finally {
    await bed.close();
  }
  const all = { passed: 0, failed: 0, unsupported: 0 };
  for (const [label, t] of totals) {
    console.log(`${label}: ${scoreLine(t)}`);
    all.passed += t.passed;
    all.failed += t.failed;
    all.unsupported += t.unsupported;
  }
  console.log(scoreLine(all));
  return all.failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
