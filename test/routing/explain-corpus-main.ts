// `make explain-corpus CORPUS=<file>`: each corpus entry's plan class at both corpus
// watermarks (hot, whole, rollup, top-n, partials, raw; engine/plan-class.ts), as the
// engine's EXPLAIN reports it, then the share needing no raw-row fallback (goal ≥ 90%).
//   node .build/test/routing/explain-corpus-main.js --corpus FILE [--watermark TS]...
// An entry's full EXPLAIN: psql through the proxy, or EXPLAIN through the engine.
import * as proxy from '@strata/proxy';
import { CORPUS_WATERMARKS, startCorpusBed } from './corpus/corpus-bed';
import { readCorpus } from './corpus/corpus-file';
import { classCounts, explainCorpus, noFallbackShare } from './explain-corpus';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let file = process.env.CORPUS ?? '';
  const watermarks: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--corpus') file = argv[++i];
    else if (argv[i] === '--watermark') watermarks.push(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!file) throw new Error('usage: explain-corpus --corpus FILE [--watermark TS]...');
  const entries = readCorpus(file);
  const bed = await startCorpusBed(proxy);
  try {
    const results = await explainCorpus(bed, proxy, entries, watermarks.length > 0 ? watermarks.sort() : CORPUS_WATERMARKS);
    for (const r of results) {
      console.log(`${r.watermark}  ${r.planClass.padEnd(10)} ${(r.route ?? '').padEnd(5)}  ${r.name}${r.error ? `  (${r.error})` : ''}`);
    }
    const counts = classCounts(results);
    const share = noFallbackShare(results);
    console.log(`classes: ${Object.entries(counts).map(([c, n]) => `${c} ${n}`).join(', ')}`);
    console.log(`no raw-row fallback: ${results.length - (counts.raw ?? 0) - (counts.error ?? 0)}/${results.length} = ${(share * 100).toFixed(1)}% (goal ≥ 90%)`);
    console.log(JSON.stringify({ explainCorpus: file, entries: results.length, classes: counts, noFallbackShare: +share.toFixed(3) }));
  } finally {
    await bed.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
