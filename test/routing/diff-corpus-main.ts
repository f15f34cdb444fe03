// `make diff-corpus CORPUS=<file>`: the differential corpus run (shared/corpus/README.md).
//   node .build/test/routing/diff-corpus-main.js --corpus FILE [--watermark TS]... [--via-proxy URL]
// Loads the dataset into a reference database and a tiered metrics_events, tiers to
// each watermark, runs every entry against both and prints failures with both
// results. Without --via-proxy, entries go through the router and QueryEngine.execute
// in-process; with it, through a PostgreSQL client connected to URL (a Strata proxy
// whose backend is the tiered database this run prints). `--via-proxy in-process`
// starts Strata's proxy (startProxy) in this process over that database, with this
// router and engine, and connects a real client to it.
import * as proxy from '@strata/proxy';
import { CORPUS_WATERMARKS, startCorpusBed } from './corpus/corpus-bed';
import { readCorpus } from './corpus/corpus-file';
import { diffCorpus, precomputedRunner, scoreLine } from './corpus/diff-corpus';
import { runPgxCorpus, type PgxMode } from './corpus/pgx-runner';
import { connectClientRunner, connectEngineRunner } from './corpus/runners';

function parseArgs(argv: string[]): { corpus: string; watermarks: string[]; viaProxy?: string; pgx?: PgxMode } {
  let corpus = process.env.CORPUS ?? '';
  const watermarks: string[] = [];
  let viaProxy: string | undefined;
  let pgx: PgxMode | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--corpus') corpus = argv[++i];
    else if (a === '--watermark') watermarks.push(argv[++i]);
    else if (a === '--via-proxy') viaProxy = argv[++i];
    else if (a === '--pgx') pgx = argv[++i] as PgxMode;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!corpus) throw new Error('usage: diff-corpus --corpus FILE [--watermark TS]... [--via-proxy URL|in-process [--pgx simple|extended]]');
  if (pgx && !viaProxy) throw new Error('--pgx needs --via-proxy');
  if (pgx && pgx !== 'simple' && pgx !== 'extended') throw new Error('--pgx takes simple or extended');
  return { corpus, watermarks: watermarks.length > 0 ? watermarks.sort() : [...CORPUS_WATERMARKS], viaProxy, pgx };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const entries = readCorpus(args.corpus);
  const started = Date.now();
  const bed = await startCorpusBed(proxy);
  const total = { passed: 0, failed: 0, unsupported: 0 };
  try {
    console.log(`corpus ${args.corpus}: ${entries.length} entries; dataset loaded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (args.viaProxy) console.log(`tiered database for the proxy: ${bed.tiered.pgUrl} (ClickHouse HTTP ${bed.tiered.chUrl}, database ${bed.tiered.database})`);
    let proxyUrl = args.viaProxy;
    let running: { close(): Promise<void> } | undefined;
    if (args.viaProxy === 'in-process') {
      const password = 'corpus';
      const config = proxy.resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: bed.tiered.pgUrl, users: { postgres: password } });
      const p = await proxy.startProxy(config, { router: bed.router, engine: bed.engine });
      running = p;
      const url = new URL(bed.tiered.pgUrl);
      proxyUrl = `postgres://postgres:${password}@${p.host}:${p.port}${url.pathname}`;
      console.log(`in-process proxy on ${p.host}:${p.port}`);
    }
    try {
    for (const w of args.watermarks) {
      await bed.tierTo(w);
      const before = { ...bed.engine.stats };
      const reference = await connectClientRunner(bed.reference.url);
      const strata = args.pgx
        ? precomputedRunner(entries, await runPgxCorpus(proxyUrl!, entries, args.pgx, proxy))
        : proxyUrl
          ? await connectClientRunner(proxyUrl)
          : await connectEngineRunner(bed.tiered.pgUrl, bed.router, bed.engine, proxy);
      const t0 = Date.now();
      try {
        const score = await diffCorpus(entries, reference, strata, proxy);
        for (const r of score.results) {
          if (r.status === 'failed') console.log(r.report);
          if (r.status === 'unsupported') console.log(`UNSUPPORTED ${r.name}: ${r.reason}`);
        }
        const routes = (['hot', 'cold', 'split', 'refused'] as const).map((k) => `${k} ${bed.engine.stats[k] - before[k]}`).join(', ');
        console.log(`engine statements at ${w}: ${routes}`);
        console.log(`watermark ${w}: ${scoreLine(score)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        total.passed += score.passed;
        total.failed += score.failed;
        total.unsupported += score.unsupported;
      } finally {
        await reference.close();
        await strata.close();
      }
    }
    } finally {
      await running?.close();
    }
  } finally {
    await bed.close();
  }
  console.log(scoreLine(total));
  return total.failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
