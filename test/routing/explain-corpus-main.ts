// Prints Strata's EXPLAIN of every corpus entry at each watermark (route, W, SQL per tier).
//   node .build/test/routing/explain-corpus-main.js --corpus FILE
import * as proxy from '@strata/proxy';
import { CORPUS_WATERMARKS, startCorpusBed } from './corpus/corpus-bed';
import { readCorpus } from './corpus/corpus-file';

async function main(): Promise<void> {
  const file = process.argv[process.argv.indexOf('--corpus') + 1];
  const entries = readCorpus(file);
  const bed = await startCorpusBed(proxy);
  try {
    for (const w of CORPUS_WATERMARKS) {
      await bed.tierTo(w);
      for (const e of entries) {
        const stmts = proxy.parseStatements(e.sql);
        const last = stmts[stmts.length - 1].text;
        const session = { user: 'postgres', database: 'corpus', settings: new Map([['TimeZone', 'UTC']]), inTransaction: false };
        const r = await bed.engine.execute({ sql: `EXPLAIN ${last}`, params: [], paramTypes: [] }, session);
        console.log(`== ${w} ${e.name}`);
        for await (const row of r.rows) console.log(row[0]);
      }
    }
  } finally {
    await bed.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
