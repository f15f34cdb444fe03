import { Client } from 'pg';
import { createColdStore, applyTable, runTiering, validateTieredTable, getTierState, visibleGenerationsSql, type ColdStore } from '@strata/core';
import { createTestDatabase } from '../support/postgres';
import { startChdbHttpServer } from '../support/cold-endpoint';
import { tiererDeps } from '../support/tiered-fixture';

/**
 * Every supported column type survives a move exactly: the tierer's own verification
 * (count + checksum computed independently by JS over PostgreSQL's bytes and by
 * ClickHouse over its stored rows) must pass, and values read back from ClickHouse
 * equal PostgreSQL's.
 */
/** ClickHouse spells infinities inf/-inf, PostgreSQL Infinity/-Infinity. */
const num = (s: string): number => (s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s));

describe('type round trip PostgreSQL → ClickHouse', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ch: Awaited<ReturnType<typeof startChdbHttpServer>>;
  let hot: Client;
  let cold: ColdStore;

  const spec = (() => {
    const r = validateTieredTable({
      table: 'all_types',
      timeColumn: 'ts',
      columns: [
        { name: 'ts', type: 'timestamptz' },
        { name: 'local_ts', type: 'timestamp' },
        { name: 's', type: 'text' },
        { name: 'vc', type: 'varchar(20)' },
        { name: 'f8', type: 'double precision' },
        { name: 'f4', type: 'real' },
        { name: 'i8', type: 'bigint' },
        { name: 'i4', type: 'integer' },
        { name: 'i2', type: 'smallint' },
        { name: 'b', type: 'boolean' },
        { name: 'n', type: 'numeric(20,4)' },
        { name: 'd', type: 'date' },
        { name: 'u', type: 'uuid' },
        { name: 'j', type: 'jsonb' },
      ],
      hot: { chunkInterval: '1d', retention: '1d' },
      cold: { orderBy: ['ts'], partitionBy: 'month' },
      tiering: { batchRows: 1000 },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.spec;
  })();

  beforeAll(async () => {
    db = await createTestDatabase('strata_types');
    ch = await startChdbHttpServer({});
    hot = new Client({ connectionString: db.url });
    await hot.connect();
    cold = await createColdStore({ kind: 'http', url: ch.url, database: 'types' });
    await applyTable({ hot, cold, coldTarget: { database: 'types' } }, spec);
    await hot.query(`INSERT INTO all_types VALUES
      ('2026-01-01 00:00:00.000001+00', '2026-01-01 12:34:56.5', 'plain', 'v', 1.5, 0.1, 9223372036854775807, 2147483647, -32768, true, 12345678901234.5678, '2026-02-28', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1, "b": [1.50, "x"], "c": {"d": null}}'),
      ('1969-07-20 20:17:40+00', '1900-01-01 00:00:00', E'tab\\there\\nnewline\\\\back ünïcødé 🚀', '', -0.0, -3.4e38, -9223372036854775808, -2147483648, 0, false, -0.0001, '1969-12-31', '00000000-0000-0000-0000-000000000000', '"just a string"'),
      ('2026-01-01 00:00:01+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      ('2026-01-01 00:00:02+00', NULL, 'x', NULL, 'NaN', 'Infinity', 0, 0, 0, NULL, 0, NULL, NULL, '[]'),
      ('2026-01-01 00:00:03+00', NULL, 'y', NULL, '-Infinity', 1e-45, 1, 1, 1, NULL, 1, NULL, NULL, '{}'),
      ('2026-01-01 00:00:04+00', NULL, 'z', NULL, 1e308, 1, 2, 2, 2, NULL, 99999999999999.9999, NULL, NULL, '123.4500'),
      -- Unix times of fewer than ten digits (before 2001-09-09), which ClickHouse does not read as DateTime64 text.
      ('1970-01-01 00:00:00+00', '1970-01-01 00:00:00.25', 'epoch', NULL, 0, 0, 0, 0, 0, NULL, 0, '1970-01-01', NULL, NULL),
      ('1970-01-02 00:00:00.5+00', '1970-01-02 00:00:00', 'day two', NULL, 0, 0, 0, 0, 0, NULL, 0, NULL, NULL, NULL),
      ('1973-03-03 09:46:40+00', '2001-09-09 01:46:39.999999', 'nine digits', NULL, 0, 0, 0, 0, 0, NULL, 0, NULL, NULL, NULL)`);
  });
  afterAll(async () => {
    await hot?.end();
    await cold?.close();
    await ch?.stop();
    await db?.drop();
  });

  const ROWS = 9;

  test('moves all rows and passes its own count+checksum verification', async () => {
    const reference = await hot.query(`SELECT (extract(epoch FROM ts) * 1000000)::bigint::text AS ts_us, s, vc, f8::text AS f8, f4::text AS f4, i8::text AS i8, i4, i2, b, n::text AS n, d::text AS d, u::text AS u, j::text AS j,
        to_char(local_ts, 'YYYY-MM-DD HH24:MI:SS.US') AS local_ts FROM all_types ORDER BY ts`);
    const r = await runTiering(
      tiererDeps(db.url, cold, 'types'),
      { table: 'all_types', until: new Date('2027-01-01T00:00:00Z') },
    );
    expect(r.rows).toBe(ROWS);
    const state = (await getTierState(hot, 'all_types'))!;
    const rows = await cold.query<Record<string, string | number | boolean | null>>(
      `SELECT toUnixTimestamp64Micro(ts) AS ts_us, s, vc, toString(f8) AS f8, toString(f4) AS f4, toString(i8) AS i8, i4, i2, b, toString(n) AS n, toString(d) AS d, toString(u) AS u, j,
              formatDateTime(local_ts, '%Y-%m-%d %H:%i:%S.%f') AS local_ts
         FROM types.all_types WHERE ${visibleGenerationsSql(state)} ORDER BY ts`,
    );
    expect(rows).toHaveLength(ROWS);
    for (let i = 0; i < ROWS; i++) {
      const pg = reference.rows[i];
      const c = rows[i];
      expect(String(c.ts_us)).toBe(pg.ts_us);
      expect(c.s).toBe(pg.s);
      expect(c.vc).toBe(pg.vc);
      expect(c.j).toBe(pg.j);
      expect(c.local_ts ?? null).toBe(pg.local_ts);
      expect(c.i8).toBe(pg.i8);
      expect(c.i4).toBe(pg.i4);
      expect(c.i2).toBe(pg.i2);
      expect(c.b).toBe(pg.b);
      expect(c.d).toBe(pg.d);
      expect(c.u).toBe(pg.u);
      expect(c.f8 === null ? null : num(String(c.f8))).toBe(pg.f8 === null ? null : num(pg.f8));
      expect(c.f4 === null ? null : Math.fround(num(String(c.f4)))).toBe(pg.f4 === null ? null : Math.fround(num(pg.f4)));
      expect(c.n === null ? null : Number(c.n)).toBe(pg.n === null ? null : Number(pg.n));
    }
  });
});
