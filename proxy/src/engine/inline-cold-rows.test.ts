import { Readable } from 'node:stream';
import { tsvToArrayLiterals } from './inline-cold-rows';

describe('tsvToArrayLiterals', () => {
  it('keeps a character whose bytes straddle two chunks of the stream whole', async () => {
    const bytes = Buffer.from('1\tZeitüberschreitung ☃\n2\t\\N\n', 'utf8');
    const results: string[][] = [];
    // Every split point, the ones inside ü (2 bytes) and ☃ (3 bytes) among them.
    for (let at = 1; at < bytes.length; at++) {
      const r = await tsvToArrayLiterals(Readable.from([bytes.subarray(0, at), bytes.subarray(at)]), 2, 1 << 20);
      results.push(r.arrays);
    }
    expect(new Set(results.map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify(['{"1","2"}', '{"Zeitüberschreitung ☃",NULL}'])]));
  });
});
