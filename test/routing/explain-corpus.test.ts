import { createTierEngine, loadCatalogSnapshot, PLAN_CLASSES } from '../../proxy/src/engine';
import { createRouter, loadSqlParser, parseStatements } from '../../proxy/src/router';
import { repoPath } from '../support/paths';
import { CORPUS_WATERMARKS, startCorpusBed, type CorpusBed } from './corpus/corpus-bed';
import { readCorpus } from './corpus/corpus-file';
import { connectEngineRunner } from './corpus/runners';
import { explainCorpus, noFallbackShare, type ExplainedEntry } from './explain-corpus';

/**
 * `make explain-corpus` on the corpus: every entry gets a plan class at both watermarks,
 * and the class EXPLAIN reports is what running the entry does — a `hot` entry reads no
 * cold row, `partials` reads pre-aggregated cold groups only, `raw` and `top-n` read cold
 * rows, `top-k` reads only candidates (the engine's counters, engine.stats.coldReads, say
 * which).
 */
const CORPUS = process.env.STRATA_CORPUS ?? repoPath('test', 'routing', 'corpus', 'files', 'metrics.sql');
const api = { loadSqlParser, parseStatements, createRouter, createTierEngine, loadCatalogSnapshot };

describe('explain-corpus', () => {
  let bed: CorpusBed;
  const all: ExplainedEntry[] = [];

  beforeAll(async () => {
    bed = await startCorpusBed(api);
  }, 120_000);

  afterAll(async () => {
    await bed?.close();
  });

  it.each(CORPUS_WATERMARKS.map((w) => [w]))('classes every entry at watermark %s as running it reads the cold tier', async (w) => {
    const entries = readCorpus(CORPUS);
    const explained = await explainCorpus(bed, api, entries, [w]);
    all.push(...explained);
    expect(explained.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    expect(explained.filter((e) => !(PLAN_CLASSES as readonly string[]).includes(e.planClass))).toEqual([]);
    expect(explained.find((e) => e.name === 'count-hot-only')?.planClass).toBe('hot');
    // A whole day of 1-minute buckets: the corpus table's 1m rollup answers it.
    expect(explained.find((e) => e.name === 'count-cold-only')?.planClass).toBe('rollup');

    const runner = await connectEngineRunner(bed.tiered.pgUrl, bed.router, bed.engine, api);
    try {
      const mismatches: string[] = [];
      for (const e of explained) {
        const before = { ...bed.engine.stats.coldReads };
        const r = await runner.run(entries.find((x) => x.name === e.name)!.sql);
        expect(r.ok).toBe(true);
        const raw = bed.engine.stats.coldReads.raw - before.raw;
        const partial = bed.engine.stats.coldReads.partial - before.partial;
        const candidates = bed.engine.stats.coldReads.candidates - before.candidates;
        // A statement's class is its worst occurrence's: a raw one may also read partials.
        const agrees: Partial<Record<string, boolean>> = {
          hot: raw === 0 && partial === 0,
          partials: raw === 0 && partial > 0,
          // A rollup read is a partial-aggregate read whose rows come (partly) from the rollup.
          rollup: raw === 0 && partial > 0,
          'top-n': raw > 0,
          // Raw reads cut to a top-k's candidates (rank ≤ k per partition), never every row.
          'top-k': candidates > 0 && candidates === raw,
          raw: raw > 0,
        };
        // Classes other work adds (whole) are checked by its own tests.
        if (agrees[e.planClass] === false) {
          mismatches.push(`${e.name}: EXPLAIN says ${e.planClass}, running it read ${raw} raw and ${partial} partial cold results`);
        }
      }
      expect(mismatches).toEqual([]);
    } finally {
      await runner.close();
    }
  }, 240_000);

  it('reports the share of entries needing no raw-row fallback', () => {
    expect(all).toHaveLength(2 * readCorpus(CORPUS).length);
    const share = noFallbackShare(all);
    expect(share).toBeCloseTo(all.filter((e) => e.planClass !== 'raw').length / all.length);
    expect(share).toBeGreaterThan(0.5);
  });
});
