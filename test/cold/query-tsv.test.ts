import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { chQualified, createColdStore, type ColdStore } from '../../core/src';
import { embeddedColdStorePath, startChdbHttpServer, type ChdbHttpServer } from '../support/cold-endpoint';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * ColdStore.queryTsv: a result as ClickHouse TabSeparated text, which the proxy feeds to
 * PostgreSQL's COPY FROM unchanged. Both stores; the values that need care in COPY text
 * (tabs, newlines, backslashes, quotes, NULL, floats at full precision, microseconds)
 * must arrive in PostgreSQL exactly.
 */
const DB = `qtsv_${process.pid}`;
let endpoint: ChdbHttpServer;
let pg: TestDatabase;

beforeAll(async () => {
  endpoint = await startChdbHttpServer();
  pg = await createTestDatabase('strata_qtsv');
});
afterAll(async () => {
  await endpoint?.stop();
  await pg?.drop();
});

const implementations: Array<{ name: string; open: () => ColdStore }> = [
  { name: 'http', open: () => createColdStore({ kind: 'http', url: endpoint.url, database: 'default' }) },
  { name: 'embedded', open: () => createColdStore({ kind: 'embedded', path: embeddedColdStorePath(), database: 'default' }) },
];

describe.each(implementations)('queryTsv ($name)', ({ name, open }) => {
  it('streams a large result in pieces and rejects bad SQL', async () => {
    const store = open();
    try {
      let bytes = 0;
      let pieces = 0;
      for await (const c of await store.queryTsvStream('SELECT number, toString(number) FROM numbers(2000000)')) {
        bytes += (c as Uint8Array).length;
        pieces++;
      }
      expect(pieces).toBeGreaterThan(1);
      expect(bytes).toBeGreaterThan(20_000_000);
      await expect(
        (async () => {
          for await (const c of await store.queryTsvStream('SELECT nope FROM numbers(1)')) void c;
        })(),
      ).rejects.toThrow();
      // The store is usable afterwards.
      expect(await store.queryTsv('SELECT 1')).toBe('1\n');
    } finally {
      await store.close();
    }
  });

  it('returns TabSeparated text that PostgreSQL COPY reads back exactly', async () => {
    const store = open();
    const table = chQualified(DB, `t_${name}`);
    const client = new Client({ connectionString: pg.url });
    await client.connect();
    try {
      await store.command(`CREATE DATABASE IF NOT EXISTS ${DB}`);
      await store.command(`CREATE TABLE ${table} (ts DateTime64(6, 'UTC'), s Nullable(String), f Float64, b Bool) ENGINE = MergeTree ORDER BY ts`);
      await store.command(
        `INSERT INTO ${table} VALUES ('2026-01-01 00:00:00.000001', 'tab\\there\\nnew\\\\line ''q''', 0.1, true), ('2026-01-01 00:00:01', NULL, 1e-300, false), ('2026-01-01 00:00:02', 'é', 3.141592653589793, true)`,
      );
      const tsv = await store.queryTsv(`SELECT concat(toString(ts), '+00'), s, f, b FROM ${table} WHERE ts >= {from:DateTime64(6, 'UTC')} ORDER BY ts`, {
        from: '2026-01-01 00:00:00.000000',
      });
      expect(tsv.split('\n').filter(Boolean)).toHaveLength(3);
      // The streamed form carries the same bytes.
      const chunks: Buffer[] = [];
      for await (const c of await store.queryTsvStream(
        `SELECT concat(toString(ts), '+00'), s, f, b FROM ${table} WHERE ts >= {from:DateTime64(6, 'UTC')} ORDER BY ts`,
        { from: '2026-01-01 00:00:00.000000' },
      )) {
        chunks.push(Buffer.from(c as Uint8Array));
      }
      expect(Buffer.concat(chunks).toString('utf8')).toBe(tsv);
      await client.query(`CREATE TABLE t_${name} (ts timestamptz, s text, f float8, b boolean)`);
      await pipeline(Readable.from([tsv]), client.query(copyFrom(`COPY t_${name} FROM STDIN`)));
      const r = await client.query(`SELECT ts::text AS ts, s, f::text AS f, b FROM t_${name} ORDER BY ts`);
      expect(r.rows).toEqual([
        { ts: '2026-01-01 00:00:00.000001+00', s: "tab\there\nnew\\line 'q'", f: '0.1', b: true },
        { ts: '2026-01-01 00:00:01+00', s: null, f: '1e-300', b: false },
        { ts: '2026-01-01 00:00:02+00', s: 'é', f: '3.141592653589793', b: true },
      ]);
    } finally {
      await client.end();
      await store.command(`DROP DATABASE IF EXISTS ${DB}`).catch(() => undefined);
      await store.close();
    }
  });
});
