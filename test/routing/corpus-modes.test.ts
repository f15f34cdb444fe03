import { existsSync } from 'node:fs';
import { resolveProxyConfig } from '../../proxy/src/config';
import { startProxy, type RunningProxy } from '../../proxy/src/proxy-server';
import { createTierEngine, loadCatalogSnapshot } from '../../proxy/src/engine';
import { createRouter, loadSqlParser, parseStatements } from '../../proxy/src/router';
import { repoPath } from '../support/paths';
import { withClient } from '../support/postgres';
import { CORPUS_WATERMARKS, startCorpusBed, type CorpusBed } from './corpus/corpus-bed';
import { readCorpus } from './corpus/corpus-file';
import { startCorpusProxy } from './corpus/corpus-proxy';
import { connectModeRunner, CREATE_CORPUS_VIEW_SQL, type CorpusMode } from './corpus/corpus-modes';
import { diffCorpus, precomputedRunner, scoreLine } from './corpus/diff-corpus';
import { CORPUS_DRIVERS, missingDriver, runDriverCorpus, type CorpusDriver } from './corpus/driver-runner';
import type { CorpusRunner } from './corpus/runners';

/**
 * The corpus read the ways applications read, through Strata's wire server: each read
 * inside BEGIN … COMMIT (read committed and repeatable read), through a plain view,
 * through a cursor, and with psycopg2 and JDBC in their default transactional modes.
 * Each is compared with PostgreSQL alone answering the same messages. (Autocommit reads
 * are corpus.test.ts's and corpus-clients.test.ts's.) One dataset load for all of them;
 * W moves forward once per watermark.
 */
const CORPUS = process.env.STRATA_CORPUS ?? repoPath('test', 'routing', 'corpus', 'files', 'metrics.sql');
const api = { loadSqlParser, parseStatements, createRouter, createTierEngine, loadCatalogSnapshot };
const MODES: Array<Exclude<CorpusMode, 'autocommit'>> = ['txn', 'txn-rr', 'view', 'cursor'];

describe('differential corpus in every way of reading, through the proxy', () => {
  let bed: CorpusBed;
  let proxy: RunningProxy;
  let url: string;
  let tieredTo: string | undefined;
  const entries = readCorpus(CORPUS);

  beforeAll(async () => {
    if (!existsSync(CORPUS)) throw new Error(`corpus file not found: ${CORPUS} (set STRATA_CORPUS)`);
    for (const d of CORPUS_DRIVERS) {
      const missing = missingDriver(d);
      if (missing) throw new Error(missing);
    }
    bed = await startCorpusBed(api);
    const pino = (await import('pino')).default;
    ({ proxy, url } = await startCorpusProxy(bed, { startProxy, resolveProxyConfig }, pino({ level: process.env.STRATA_TEST_LOG ?? 'silent' })));
    // The view is the client's own: created through the proxy, as a user would.
    await withClient(bed.reference.url, (c) => c.query(CREATE_CORPUS_VIEW_SQL));
    await withClient(url, (c) => c.query(CREATE_CORPUS_VIEW_SQL));
    // The proxy re-reads the catalog after view DDL without waiting for it; the readers
    // are other sessions, so wait for the new catalog here.
    await bed.refreshCatalog();
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    await bed?.close();
  });

  const cases = CORPUS_WATERMARKS.flatMap((w) => [...MODES.map((m) => [w, `mode ${m}`] as const), ...CORPUS_DRIVERS.map((d) => [w, `driver ${d}`] as const)]);

  it.each(cases)('at watermark %s, %s matches PostgreSQL', async (w, way) => {
    if (tieredTo !== w) {
      await bed.tierTo(w);
      tieredTo = w;
    }
    const [kind, name] = way.split(' ');
    // Before the drivers run: they answer the whole corpus up front.
    const before = bed.engine.stats.split;
    let reference: CorpusRunner;
    let strata: CorpusRunner;
    if (kind === 'driver') {
      reference = precomputedRunner(entries, await runDriverCorpus(name as CorpusDriver, bed.reference.url, entries));
      strata = precomputedRunner(entries, await runDriverCorpus(name as CorpusDriver, url, entries));
    } else {
      reference = await connectModeRunner(bed.reference.url, name as CorpusMode, api);
      strata = await connectModeRunner(url, name as CorpusMode, api);
    }
    try {
      const score = await diffCorpus(entries, reference, strata, api);
      const lines = [scoreLine(score), ...score.results.filter((r) => r.status !== 'passed').map((r) => r.report ?? `${r.name}: ${r.reason}`)];
      expect(lines).toEqual([`${entries.length} passed, 0 failed, 0 unsupported`]);
      // The reads did go through the engine, most of them across both tiers.
      expect(bed.engine.stats.split - before).toBeGreaterThan(entries.length / 2);
    } finally {
      await reference.close();
      await strata.close();
    }
  }, 120_000);
});
