import pino from 'pino';
import { validateTieredTable } from '@strata/core';
import { BackpressureError, StoreRejectedError } from '../errors';
import { tableModel, type TableModel } from '../model/table-model';
import { createGatewayMetrics } from '../ops/metrics';
import { BatchingWriter, type EncodedRequest } from './batching-writer';

function model(): TableModel {
  const r = validateTieredTable({ table: 't', timeColumn: 'time', columns: [{ name: 'time', type: 'timestamptz' }] });
  if (!r.ok) throw new Error('spec');
  return tableModel(r.spec);
}
const req = (rows: number, tag = 'x'): EncodedRequest => ({ data: Buffer.from(tag), rows });
const batch = { maxRows: 10, maxDelayMs: 5, maxPendingRows: 100, concurrency: 1, retryAfterSeconds: 1 };

describe('BatchingWriter', () => {
  test('whole requests per batch, by size and age; a new model for the table does not stall its queue', async () => {
    const flushed: string[][] = [];
    const w = new BatchingWriter('postgresql', batch, async (_t, reqs) => void flushed.push(reqs.map((r) => r.data.toString())), createGatewayMetrics(), pino({ level: 'silent' }));
    const a = model();
    const b = model();
    await Promise.all([w.write(a, req(6, 'a1')), w.write(a, req(6, 'a2')), w.write(b, req(2, 'b1')), w.write(a, req(1, 'a3'))]);
    expect(flushed.flat().sort()).toEqual(['a1', 'a2', 'a3', 'b1']);
    for (const f of flushed) expect(f.every((x) => x[0] === f[0][0])).toBe(true);
    expect(flushed.find((f) => f.includes('a1'))).not.toContain('a2');
    expect(w.pending).toBe(0);
    await w.close();
  });

  test('a rejected batch is retried request by request; only the bad one fails', async () => {
    const w = new BatchingWriter(
      'postgresql',
      { ...batch, maxDelayMs: 20 },
      async (_t, reqs) => {
        if (reqs.some((r) => r.data.toString() === 'bad')) throw new StoreRejectedError('postgresql', 'SQLSTATE 22003');
      },
      createGatewayMetrics(),
      pino({ level: 'silent' }),
    );
    const m = model();
    const results = await Promise.allSettled([w.write(m, req(1, 'ok1')), w.write(m, req(1, 'bad')), w.write(m, req(1, 'ok2'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  test('refuses with BackpressureError past maxPendingRows', async () => {
    let release: () => void = () => undefined;
    const w = new BatchingWriter('postgresql', { ...batch, maxPendingRows: 5 }, () => new Promise<void>((r) => (release = r)), createGatewayMetrics(), pino({ level: 'silent' }));
    const first = w.write(model(), req(4));
    await expect(w.write(model(), req(2))).rejects.toBeInstanceOf(BackpressureError);
    await new Promise((r) => setTimeout(r, 20));
    release();
    await first;
  });
});
