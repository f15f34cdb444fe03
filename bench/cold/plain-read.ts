import { createClient } from '@clickhouse/client';
import { PlainReads } from '@strata/core';
import { startChdbHttpServer } from '../../test/support/cold-endpoint';

/**
 * The cold answer's request by hand (core/src/cold/plain-read.ts) against the same
 * request through @clickhouse/client (compression off, as the store sent plain reads
 * before), against the chDB HTTP endpoint: RUNS of each, interleaved, per statement.
 * Prints each median and the ratio; the last line is JSON.
 *
 *   node .build/bench/cold/plain-read.js        (BENCH_PLAIN_READ_RUNS, default 60)
 */
const RUNS = Number(process.env.BENCH_PLAIN_READ_RUNS ?? 60);
const STATEMENTS = ['SELECT 1', 'SELECT number, toString(number) FROM numbers(100)', 'SELECT number, toString(number) FROM numbers(100000)'];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function drain(stream: NodeJS.ReadableStream): Promise<void> {
  for await (const chunk of stream) void chunk;
}

async function main(): Promise<void> {
  const endpoint = await startChdbHttpServer();
  const plain = new PlainReads({ url: endpoint.url, username: 'default', password: '', requestTimeoutMs: 30_000 });
  const client = createClient({ url: endpoint.url, compression: { request: false, response: false } });
  const results = [];
  try {
    for (const sql of STATEMENTS) {
      const query = `${sql}\nFORMAT TabSeparated`;
      const ways = {
        byHand: async () => drain(await plain.read(query, undefined, undefined)),
        client: async () => drain((await client.exec({ query })).stream),
      };
      const times: Record<keyof typeof ways, number[]> = { byHand: [], client: [] };
      for (let i = 0; i < RUNS; i++) {
        for (const name of (i % 2 === 0 ? ['byHand', 'client'] : ['client', 'byHand']) as Array<keyof typeof ways>) {
          const t0 = performance.now();
          await ways[name]();
          times[name].push(performance.now() - t0);
        }
      }
      const row = { sql, byHandMs: +median(times.byHand).toFixed(2), clientMs: +median(times.client).toFixed(2) };
      results.push(row);
      console.log(`${sql.padEnd(55)} by hand ${row.byHandMs.toFixed(2).padStart(7)} ms   @clickhouse/client ${row.clientMs.toFixed(2).padStart(7)} ms   saved ${(row.clientMs - row.byHandMs).toFixed(2)} ms`);
    }
  } finally {
    plain.close();
    await client.close();
    await endpoint.stop();
  }
  console.log(JSON.stringify({ bench: 'plain-read', runs: RUNS, results }));
}

void main();
