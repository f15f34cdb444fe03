import { existsSync } from 'node:fs';
import { resolveProxyConfig } from '../../proxy/src/config';
import { startProxy, type RunningProxy } from '../../proxy/src/proxy-server';
import { createTierEngine, loadCatalogSnapshot } from '../../proxy/src/engine';
import { createRouter, loadSqlParser, parseStatements } from '../../proxy/src/router';
import { repoPath } from '../support/paths';
import { CORPUS_WATERMARKS, startCorpusBed, type CorpusBed } from './corpus/corpus-bed';
import { startCorpusProxy } from './corpus/corpus-proxy';
import { readCorpus } from './corpus/corpus-file';
import { diffCorpus, precomputedRunner, scoreLine } from './corpus/diff-corpus';
import { PGX_CORPUS_BINARY, runPgxCorpus } from './corpus/pgx-runner';
import { connectClientRunner } from './corpus/runners';
import { psqlRunner } from './corpus/psql-runner';
import type { Outcome } from './corpus/compare';

/**
 * The corpus through Strata's wire server (startProxy with the tier-aware router and
 * engine) and real drivers: node-postgres and pgx v5 over the simple protocol (as
 * Grafana sends panel queries), and pgx over the extended protocol with the time
 * bounds as bind parameters.
 */
const CORPUS = process.env.STRATA_CORPUS ?? repoPath('test', 'routing', 'corpus', 'files', 'metrics.sql');
const api = { loadSqlParser, parseStatements, createRouter, createTierEngine, loadCatalogSnapshot };

describe('differential corpus through the proxy and real drivers', () => {
  let bed: CorpusBed;
  let proxy: RunningProxy;
  let url: string;

  beforeAll(async () => {
    if (!existsSync(CORPUS)) throw new Error(`corpus file not found: ${CORPUS} (set STRATA_CORPUS)`);
    if (!existsSync(PGX_CORPUS_BINARY)) throw new Error(`${PGX_CORPUS_BINARY} is missing: run make deps (scripts/deps/routing.sh)`);
    bed = await startCorpusBed(api);
    const pino = (await import('pino')).default;
    ({ proxy, url } = await startCorpusProxy(bed, { startProxy, resolveProxyConfig }, pino({ level: process.env.STRATA_TEST_LOG ?? 'silent' })));
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    await bed?.close();
  });

  it.each(CORPUS_WATERMARKS.map((w) => [w]))('matches PostgreSQL at watermark %s', async (w) => {
    await bed.tierTo(w);
    const entries = readCorpus(CORPUS);
    const reference = await connectClientRunner(bed.reference.url);
    try {
      const before = bed.engine.stats.split;
      // psql prints no type OIDs: its outcomes borrow the reference's (names and rows are psql's own).
      const expected = new Map<string, Outcome>();
      for (const e of entries) expected.set(e.sql, await reference.run(e.sql));
      const oidsOf = (sql: string) => {
        const o = expected.get(sql);
        return o?.ok ? o.fields.map((f) => f.typeOid) : undefined;
      };
      const drivers = {
        psql: psqlRunner(url, oidsOf),
        'node-postgres simple': await connectClientRunner(url),
        'pgx simple': precomputedRunner(entries, await runPgxCorpus(url, entries, 'simple', api)),
        'pgx extended, bound time parameters': precomputedRunner(entries, await runPgxCorpus(url, entries, 'extended', api)),
      };
      const lines: string[] = [];
      for (const [name, runner] of Object.entries(drivers)) {
        const score = await diffCorpus(entries, reference, runner, api);
        await runner.close();
        lines.push(`${name}: ${scoreLine(score)}`);
        for (const r of score.results) if (r.status !== 'passed') lines.push(r.report ?? `${r.name}: ${r.reason}`);
      }
      expect(lines).toEqual(Object.keys(drivers).map((d) => `${d}: ${entries.length} passed, 0 failed, 0 unsupported`));
      // The statements did go through the engine, most of them across both tiers.
      expect(bed.engine.stats.split - before).toBeGreaterThan(entries.length);
    } finally {
      await reference.close();
    }
  }, 180_000);
});
