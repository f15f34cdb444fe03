import { Client } from 'pg';
import { createColdStore, validateTieredTable, type ColdStore } from '../../core/src';
import { catalogSnapshot } from '../../proxy/src/router/catalog-snapshot';
import { loadSqlParser, parseStatements } from '../../proxy/src/router/sql-parser';
import { planStatement } from '../../proxy/src/engine/plan';
import { pgHotSession } from '../../proxy/src/engine/pg-hot-session';
import { SCRATCH_DATABASE, shipHotRows } from '../../proxy/src/engine/whole-pushdown';
import { embeddedColdStorePath, startChdbHttpServer, type ChdbHttpServer } from '../support/cold-endpoint';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * Hot rows shipped to the cold tier for whole aggregates (engine/whole-pushdown.ts), on
 * both stores: every value that needs care — special floats (by their bytes, whatever
 * the session's extra_float_digits), text with tabs, newlines and backslashes, non-ASCII,
 * microseconds, NULL — reads back in ClickHouse as PostgreSQL holds it, only the rows the
 * statement's WHERE keeps (with its parameters), and the table is gone after drop().
 */
const spec = validateTieredTable({
  table: 'ship_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'v', type: 'double precision' },
    { name: 'r', type: 'real' },
    { name: 'n', type: 'bigint' },
  ],
  cold: { orderBy: ['host', 'time'] },
});
if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
const snapshot = catalogSnapshot([spec.spec]);

const ROWS = `INSERT INTO ship_events VALUES
  ('2026-01-01 00:00:00.000001+00', E'tab\\there', 'NaN', 'Infinity', 9223372036854775807),
  ('2026-01-01 00:00:01+00', E'new\\nline \\\\ back', '-Infinity', '-0', -9223372036854775808),
  ('2026-01-01 00:00:02.5+00', 'ß-ü 日本', 0.1, 0.1, NULL),
  ('2026-01-01 00:00:03+00', NULL, 1e-300, NULL, 0),
  ('2026-01-01 00:00:04+00', '-0', '-0', 3.4e38, 1),
  ('2026-01-02 00:00:00+00', 'outside the WHERE', 1, 1, 1)`;

/** A shipped instant read back (its send format's bytes: µs since 2000-01-01). */
const INSTANT_READ = "if(time = '', NULL, fromUnixTimestamp64Micro(reinterpretAsInt64(reverse(unhex(time))) + 946684800000000, 'UTC'))";

let endpoint: ChdbHttpServer;
let pg: TestDatabase;
let client: Client;

beforeAll(async () => {
  await loadSqlParser();
  endpoint = await startChdbHttpServer();
  pg = await createTestDatabase('strata_ship');
  client = new Client({ connectionString: pg.url });
  await client.connect();
  await client.query('CREATE TABLE ship_events (time timestamptz, host text, v float8, r real, n int8)');
  await client.query(ROWS);
  // The bytes travel, not the text: a session printing floats rounded changes nothing.
  await client.query('SET extra_float_digits = -3');
});
afterAll(async () => {
  await client?.end();
  await endpoint?.stop();
  await pg?.drop();
});

const stores: Array<{ name: string; open: () => ColdStore }> = [
  { name: 'http', open: () => createColdStore({ kind: 'http', url: endpoint.url, database: 'default' }) },
  { name: 'embedded', open: () => createColdStore({ kind: 'embedded', path: embeddedColdStorePath(), database: 'default' }) },
];

describe.each(stores)('shipped hot rows ($name store)', ({ open }) => {
  it('read back in ClickHouse exactly as PostgreSQL holds them, the WHERE applied with its parameters', async () => {
    const cold = open();
    try {
      const sql = `SELECT host, percentile_cont(0.5) WITHIN GROUP (ORDER BY v), percentile_disc(0.5) WITHIN GROUP (ORDER BY r), count(DISTINCT n), max(time)
        FROM ship_events WHERE time < $1 GROUP BY host`;
      const occ = planStatement(parseStatements(sql)[0].stmt, snapshot, { utc: true, includeHot: true, whole: true }).occurrences[0];
      expect(occ.shipHot).toBeDefined();
      const shipment = await shipHotRows(pgHotSession(client), cold, occ, ['2026-01-01 12:00+00'], [1184]);
      expect(shipment.rows).toBe(5);
      const back = await cold.queryTsv(
        `SELECT toString(${INSTANT_READ}), host, hex(reinterpretAsString(if(v = '', NULL, reinterpretAsFloat64(reverse(unhex(v)))))), toString(if(r = '', NULL, reinterpretAsFloat32(reverse(unhex(r))))), n
           FROM ${shipment.table} ORDER BY ${INSTANT_READ}`,
      );
      const lines = back.trimEnd().split('\n').map((l) => l.split('\t'));
      expect(lines.map((l) => l[0])).toEqual(['2026-01-01 00:00:00.000001', '2026-01-01 00:00:01.000000', '2026-01-01 00:00:02.500000', '2026-01-01 00:00:03.000000', '2026-01-01 00:00:04.000000']);
      expect(lines.map((l) => l[1])).toEqual(['tab\\there', 'new\\nline \\\\ back', 'ß-ü 日本', '\\N', '-0']);
      // Float64 bytes, little-endian hex: NaN, -Infinity, 0.1, 1e-300, -0.
      expect(lines.map((l) => l[2])).toEqual(['000000000000F87F', '000000000000F0FF', '9A9999999999B93F', '59F3F8C21F6EA501', '0000000000000080']);
      expect(lines.map((l) => l[3])).toEqual(['inf', '-0', '0.1', '\\N', '3.4e38']);
      expect(lines.map((l) => l[4])).toEqual(['9223372036854775807', '-9223372036854775808', '\\N', '0', '1']);
      await shipment.drop();
      // Past the bound: 54000, and the half-filled table is dropped.
      await expect(shipHotRows(pgHotSession(client), cold, occ, ['2026-01-01 12:00+00'], [1184], 100)).rejects.toMatchObject({ sqlState: '54000' });
      const left = await cold.query<{ n: string }>(`SELECT count() AS n FROM system.tables WHERE database = '${SCRATCH_DATABASE}'`);
      expect(left[0].n).toBe('0');
    } finally {
      await cold.close();
    }
  });

  it('count(DISTINCT) alone: each distinct row once, its multiplicity in _strata_row (NaN, -0 and 0, NULL, non-ASCII kept apart as their bytes)', async () => {
    const cold = open();
    const dupes = `INSERT INTO ship_events (time, host, v) VALUES ('2026-01-01 00:00:05+00', 'ß-ü 日本', 0.1), ('2026-01-01 00:00:06+00', 'ß-ü 日本', 0.1),
      ('2026-01-01 00:00:07+00', E'tab\\there', 'NaN'), ('2026-01-01 00:00:08+00', '-0', 0), ('2026-01-01 00:00:09+00', NULL, 1e-300)`;
    await client.query(dupes);
    try {
      const sql = 'SELECT host, count(DISTINCT v), count(*) FROM ship_events WHERE time < $1 GROUP BY host';
      const occ = planStatement(parseStatements(sql)[0].stmt, snapshot, { utc: true, includeHot: true, whole: true }).occurrences[0];
      const shipment = await shipHotRows(pgHotSession(client), cold, occ, ['2026-01-01 12:00+00'], [1184]);
      try {
        // 10 rows in range; ('-0', 0) differs from ('-0', -0) by its bytes: 6 distinct, few enough to travel inside the query.
        expect(shipment.rows).toBe(6);
        expect(shipment.table).toMatch(/^format\(TabSeparated, /);
        const back = await cold.queryTsv(`SELECT host, hex(reinterpretAsString(if(v = '', NULL, reinterpretAsFloat64(reverse(unhex(v)))))), _strata_row FROM ${shipment.table} ORDER BY host, v`);
        // reinterpretAsString drops trailing zero bytes: 0's eight are ''.
        expect(back.trimEnd().split('\n').map((l) => l.split('\t'))).toEqual([
          ['-0', '', '1'],
          ['-0', '0000000000000080', '1'],
          ['new\\nline \\\\ back', '000000000000F0FF', '1'],
          ['tab\\there', '000000000000F87F', '2'],
          ['ß-ü 日本', '9A9999999999B93F', '3'],
          ['\\N', '59F3F8C21F6EA501', '2'],
        ]);
      } finally {
        await shipment.drop();
      }
    } finally {
      await client.query(`DELETE FROM ship_events WHERE time > '2026-01-01 00:00:04+00' AND time < '2026-01-01 00:00:10+00'`);
      await cold.close();
    }
  });

  it('distinct rows past the inline bound go through a Memory table, multiplicities kept, and past maxBytes fail with 54000 leaving no table', async () => {
    const cold = open();
    // 6,000 distinct hosts (~115 KiB of lines), each twice.
    await client.query(`INSERT INTO ship_events (time, host) SELECT '2025-06-01 00:00:00+00', 'many-distinct-hosts-' || (i % 6000) FROM generate_series(1, 12000) i`);
    try {
      const sql = 'SELECT count(DISTINCT host), count(*) FROM ship_events WHERE time < $1';
      const occ = planStatement(parseStatements(sql)[0].stmt, snapshot, { utc: true, includeHot: true, whole: true }).occurrences[0];
      const shipment = await shipHotRows(pgHotSession(client), cold, occ, ['2025-06-02 00:00+00'], [1184]);
      try {
        expect(shipment.table).toMatch(new RegExp(`^\`${SCRATCH_DATABASE}\`\\.`));
        const back = await cold.query<{ lines: string; rows: string }>(`SELECT count() AS lines, sum(_strata_row) AS rows FROM ${shipment.table}`);
        expect({ shipped: shipment.rows, ...back[0] }).toEqual({ shipped: 6000, lines: '6000', rows: '12000' });
      } finally {
        await shipment.drop();
      }
      await expect(shipHotRows(pgHotSession(client), cold, occ, ['2025-06-02 00:00+00'], [1184], 100)).rejects.toMatchObject({ sqlState: '54000' });
      const left = await cold.query<{ n: string }>(`SELECT count() AS n FROM system.tables WHERE database = '${SCRATCH_DATABASE}'`);
      expect(left[0].n).toBe('0');
    } finally {
      await client.query(`DELETE FROM ship_events WHERE time = '2025-06-01 00:00:00+00'`);
      await cold.close();
    }
  });

  it('instants before 2000 and 1970, at microseconds, as UTC whatever the session\'s TimeZone; ±infinity as NULL', async () => {
    const cold = open();
    await client.query(`INSERT INTO ship_events (time, host, v) VALUES ('1969-12-31 23:59:59.999999+00', 'instants', 1), ('1999-12-31 23:59:59.5+00', 'instants', 2),
      ('2262-04-11 23:47:16.854775+00', 'instants', 3), ('infinity', 'instants', 4), ('-infinity', 'instants', 5), (NULL, 'instants', 6)`);
    await client.query("SET TimeZone = 'America/St_Johns'");
    try {
      const sql = "SELECT max(time), percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM ship_events WHERE host = 'instants'";
      const occ = planStatement(parseStatements(sql)[0].stmt, snapshot, { utc: true, includeHot: true, whole: true }).occurrences[0];
      expect(occ.shipHot).toBeDefined();
      const shipment = await shipHotRows(pgHotSession(client), cold, occ, [], []);
      try {
        const back = await cold.queryTsv(`SELECT toString(${INSTANT_READ}) FROM ${shipment.table} ORDER BY v`);
        expect(back.trimEnd().split('\n')).toEqual(['1969-12-31 23:59:59.999999', '1999-12-31 23:59:59.500000', '2262-04-11 23:47:16.854775', '\\N', '\\N', '\\N']);
      } finally {
        await shipment.drop();
      }
    } finally {
      await client.query('RESET TimeZone');
      await client.query(`DELETE FROM ship_events WHERE host = 'instants'`);
      await cold.close();
    }
  });

  it('one shipped column whose first rows are NULL or empty: every row arrives', async () => {
    const cold = open();
    try {
      // v's NULL and host's '' would be blank lines, which ClickHouse skips before an INSERT's data.
      for (const [sql, expected] of [
        ['SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM ship_events WHERE time >= $1', 'v'],
        ["SELECT count(DISTINCT host) FROM ship_events WHERE time >= $1", 'host'],
      ] as const) {
        await client.query(`INSERT INTO ship_events (time, host, v) VALUES ('2025-12-31 00:00:00+00', '', NULL)`);
        const occ = planStatement(parseStatements(sql)[0].stmt, snapshot, { utc: true, includeHot: true, whole: true }).occurrences[0];
        expect(occ.shipHot).toBeDefined();
        const shipment = await shipHotRows(pgHotSession(client), cold, occ, ['2025-12-30 00:00+00'], [1184]);
        try {
          expect(shipment.rows).toBe(7);
          const back = await cold.query<{ n: string }>(`SELECT count() AS n FROM ${shipment.table}`);
          expect({ column: expected, n: back[0].n }).toEqual({ column: expected, n: '7' });
        } finally {
          await shipment.drop();
          await client.query(`DELETE FROM ship_events WHERE time = '2025-12-31 00:00:00+00'`);
        }
      }
    } finally {
      await cold.close();
    }
  });
});
