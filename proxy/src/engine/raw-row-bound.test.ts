import { Readable } from 'node:stream';
import { rawRowBound, rawRowBoundExceeded, RawRowBoundExceeded } from './raw-row-bound';

const limits = { maxRows: 3, maxBytes: 2 * 1024 ** 2 };

describe('the raw cold row bound', () => {
  it('names the row limit first, the byte limit in MiB, and nothing within both', () => {
    expect(rawRowBoundExceeded('t', limits, 3, 2 * 1024 ** 2)).toBeUndefined();
    expect(rawRowBoundExceeded('t', limits, 4, 3 * 1024 ** 2)?.limit).toBe('3 rows');
    expect(rawRowBoundExceeded('t', limits, 1, 2 * 1024 ** 2 + 1)?.limit).toBe('2 MiB');
  });

  it("gives the client 54000 naming the limit and the cold rows in range, the stream's and the inlined answer's alike", async () => {
    const streamed = await new Promise<unknown>((resolve) => {
      Readable.from([Buffer.from('a\nb\nc\nd\n')])
        .pipe(rawRowBound('logs', limits))
        .on('error', resolve)
        .on('finish', () => resolve(undefined))
        .resume();
    });
    expect(streamed).toBeInstanceOf(RawRowBoundExceeded);
    const fromStream = (streamed as RawRowBoundExceeded).toSqlState(12_345);
    expect(fromStream).toMatchObject({
      sqlState: '54000',
      message: `this statement needs more than 3 rows of raw cold rows of "logs" finished in PostgreSQL (the engine's limit); its cold rows in range: 12,345`,
    });
    expect(rawRowBoundExceeded('logs', limits, 4, 8)?.toSqlState(12_345).message).toBe(fromStream.message);
  });
});
