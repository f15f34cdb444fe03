import { existsSync } from 'node:fs';
import { createTierEngine, loadCatalogSnapshot } from '../../proxy/src/engine';
import { createRouter, loadSqlParser, parseStatements } from '../../proxy/src/router';
import { repoPath } from '../support/paths';
import { CORPUS_WATERMARKS, startCorpusBed, type CorpusBed } from './corpus/corpus-bed';
import { readCorpus } from './corpus/corpus-file';
import { diffCorpus, scoreLine } from './corpus/diff-corpus';
import { connectClientRunner, connectEngineRunner } from './corpus/runners';

/**
 * The must-show of the routing issue: every query of the shared corpus gives, through
 * the router and the tier-aware engine, what PostgreSQL alone gives on the same rows
 * (names, type OIDs, rows), at both watermarks the corpus names.
 */
const CORPUS = process.env.STRATA_CORPUS ?? repoPath('test', 'routing', 'corpus', 'files', 'metrics.sql');
const api = { loadSqlParser, parseStatements, createRouter, createTierEngine, loadCatalogSnapshot };

describe('differential corpus through the tier-aware engine', () => {
  let bed: CorpusBed;

  beforeAll(async () => {
    if (!existsSync(CORPUS)) throw new Error(`corpus file not found: ${CORPUS} (set STRATA_CORPUS)`);
    bed = await startCorpusBed(api);
  }, 120_000);

  afterAll(async () => {
    await bed?.close();
  });

  it.each(CORPUS_WATERMARKS.map((w) => [w]))('matches PostgreSQL at watermark %s', async (w) => {
    await bed.tierTo(w);
    const entries = readCorpus(CORPUS);
    const reference = await connectClientRunner(bed.reference.url);
    const strata = await connectEngineRunner(bed.tiered.pgUrl, bed.router, bed.engine, api);
    try {
      const before = { ...bed.engine.stats };
      const score = await diffCorpus(entries, reference, strata, api);
      const problems = score.results.filter((r) => r.status !== 'passed').map((r) => r.report ?? `${r.name}: ${r.reason}`);
      expect(problems).toEqual([]);
      expect(scoreLine(score)).toBe(`${entries.length} passed, 0 failed, 0 unsupported`);
      // The corpus really spans the tiers: most statements read both.
      expect(bed.engine.stats.split - before.split).toBeGreaterThan(entries.length / 2);
      expect(bed.engine.stats.cold - before.cold).toBeGreaterThan(0);
      expect(bed.engine.stats.hot - before.hot).toBeGreaterThan(0);
    } finally {
      await reference.close();
      await strata.close();
    }
  }, 180_000);
});
