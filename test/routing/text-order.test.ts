import type { Client } from 'pg';
import { explainText, topKColdRead } from './top-k-cold-read';
import { coldSqlOf, sameAsReference, startDifferentialBed, tieredSpec, type DifferentialBed } from './differential-bed';

/**
 * Text ordering pushed to ClickHouse only where PostgreSQL orders text byte-wise, as
 * ClickHouse compares String (translate/text-order.ts), through the real proxy against
 * PostgreSQL holding every row. One tiered table, three text columns of three collations:
 * host the database default (libc C.UTF-8 here: byte order once probed), app `COLLATE
 * "C"`, label `COLLATE "en-x-icu"` (not byte order: stays in PostgreSQL). Values with
 * NULLs, '', ties at every cut, prefixes ('a' < 'ab'), both cases, é / e, ß / ss, 中,
 * an emoji (4-byte UTF-8), and a space.
 */
const TABLE = tieredSpec({
  table: 'text_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'app', type: 'text' },
    { name: 'label', type: 'text' },
    { name: 'n', type: 'integer' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['time'], partitionBy: 'day' },
});
const VALUES = `ARRAY['a', 'ab', 'abc', 'B', 'b', '', NULL, 'é', 'e', 'f', 'ß', 'ss', '中', '😀', 'Z', 'z', 'm', 'mz', 'a b', 'A']`;
const ROWS = `SELECT t, (${VALUES})[1 + g.n % 20], (${VALUES})[1 + (g.n * 7) % 20], (${VALUES})[1 + (g.n * 3) % 20], g.n::int4 % 5
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 23:50+00', interval '10 minutes') WITH ORDINALITY g(t, n)`;
const W = '2026-01-03T00:00:00Z';

jest.setTimeout(60_000);

describe('text ordering through the proxy', () => {
  let bed: DifferentialBed;
  let client: Client;

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'text_reference',
      collations: { app: 'C', label: 'en-x-icu' },
      rows: ROWS,
      partitions: ['2026-01-02T00:00:00Z', '2026-01-05T00:00:00Z'],
      watermark: W,
      password: 'text-order',
    });
    client = bed.client;
  }, 120_000);
  afterAll(async () => bed?.close());

  /** PostgreSQL's answer, not empty, checked; the proxy's EXPLAIN. */
  const sameAsPostgres = (sql: string) => sameAsReference(bed, sql, { someRows: true });

  test.each([
    'SELECT host FROM text_events ORDER BY host LIMIT 30',
    'SELECT host FROM text_events ORDER BY host DESC LIMIT 30',
    'SELECT host FROM text_events ORDER BY host NULLS FIRST LIMIT 40',
    'SELECT host FROM text_events ORDER BY host DESC NULLS LAST LIMIT 50 OFFSET 3',
    'SELECT host, time FROM text_events ORDER BY host, time DESC LIMIT 25',
    `SELECT host, n FROM text_events WHERE time >= '2026-01-02T12:00:00Z' ORDER BY host DESC, n, time LIMIT 9`,
    'SELECT app, time FROM text_events ORDER BY app, time LIMIT 33',
    'SELECT app FROM text_events ORDER BY app DESC NULLS LAST LIMIT 60',
    'SELECT label, time FROM text_events ORDER BY label COLLATE "C", time LIMIT 27',
    'SELECT label FROM text_events ORDER BY label COLLATE "C" DESC LIMIT 45',
    `SELECT host, time FROM text_events WHERE host > 'm' ORDER BY host, time LIMIT 12`,
    `SELECT host FROM text_events WHERE app BETWEEN 'B' AND 'b' ORDER BY host DESC LIMIT 20`,
  ])('%s: top-N on the text key, PostgreSQL’s answer', async (sql) => {
    const plan = await sameAsPostgres(sql);
    expect(plan).toMatch(/Strata plan class: top-n/);
    expect(plan).toMatch(/ClickHouse: SELECT .* ORDER BY .* WITH TIES/);
  });

  test.each([
    [`SELECT count(*) FROM text_events WHERE host > 'm'`, '`host` > {'],
    [`SELECT count(*) FROM text_events WHERE host <= 'ab'`, '`host` <= {'],
    [`SELECT count(*) FROM text_events WHERE host BETWEEN 'a' AND 'z'`, '`host` >= {'],
    [`SELECT count(*) FROM text_events WHERE host NOT BETWEEN 'B' AND 'm'`, '`host` < {'],
    [`SELECT count(*) FROM text_events WHERE app > 'Z'`, '`app` > {'],
    [`SELECT count(*) FROM text_events WHERE app < 'é'`, '`app` < {'],
    [`SELECT count(*) FROM text_events WHERE label COLLATE "C" >= 'b'`, '`label` >= {'],
    [`SELECT count(*) FROM text_events WHERE host > '中'`, '`host` > {'],
  ])('%s: the condition is in ClickHouse’s SQL, PostgreSQL’s answer', async (sql, pushed) => {
    const plan = await sameAsPostgres(sql);
    expect(plan).toContain(pushed);
  });

  test.each([
    'SELECT label FROM text_events ORDER BY label LIMIT 30',
    'SELECT label FROM text_events ORDER BY label DESC NULLS LAST LIMIT 30',
    'SELECT host FROM text_events ORDER BY host COLLATE "en-x-icu" LIMIT 30',
  ])('%s: en-x-icu does not order as bytes: no top-N, PostgreSQL orders every row', async (sql) => {
    const plan = await sameAsPostgres(sql);
    expect(plan).not.toMatch(/Strata plan class: top-n/);
    expect(plan).not.toMatch(/WITH TIES/);
  });

  test.each([
    [`SELECT count(*) FROM text_events WHERE label > 'm'`, '`label`'],
    [`SELECT count(*) FROM text_events WHERE label BETWEEN 'a' AND 'z'`, '`label`'],
    [`SELECT count(*) FROM text_events WHERE host COLLATE "en-x-icu" > 'B'`, '`host`'],
  ])('%s: en-x-icu conditions stay in PostgreSQL', async (sql, column) => {
    const plan = await sameAsPostgres(sql);
    expect(coldSqlOf(plan)).not.toMatch(new RegExp(`WHERE .*${column} (<|>|>=|<=) `));
  });

  test('top-k ranks on a byte-ordered text key', async () => {
    const sql = 'SELECT DISTINCT ON (n) n, host FROM text_events ORDER BY n, host DESC';
    await sameAsPostgres(sql);
    const read = await topKColdRead(client, bed.fx.cold, sql);
    expect(read.planClass).toBe('top-k');
    // Candidates: each n's rows at its greatest host (ties), not the 288 cold rows.
    expect(read.rows).toBeLessThan(read.inRange / 3);
  });

  test('top-k ranks on an en-x-icu text key: every cold row in range', async () => {
    const sql = 'SELECT DISTINCT ON (n) n, label FROM text_events ORDER BY n, label DESC';
    await sameAsPostgres(sql);
    expect(await explainText(client, sql)).not.toMatch(/Strata plan class: top-k/);
  });
});
