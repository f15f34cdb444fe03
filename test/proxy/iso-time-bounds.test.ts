import { Client } from 'pg';
import { isoLiteralInstant } from '../../proxy/src/engine/time-bounds';
import { instantFromEpochText } from '../../proxy/src/translate/instant';
import { createTestDatabase } from '../support/postgres';

/**
 * Time bounds written as ISO 8601 literals with an offset are read by the engine itself
 * (no round trip): each must be the instant PostgreSQL reads, in any session TimeZone and
 * DateStyle; anything the engine does not read the same way it leaves to PostgreSQL.
 */
describe('ISO literal time bounds read without PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pg: Client;
  beforeAll(async () => {
    db = await createTestDatabase('strata_iso_bounds');
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  });
  afterAll(async () => {
    await pg?.end();
    await db?.drop();
  });

  const literal = (text: string) => ({ A_Const: { sval: { sval: text } } });
  const read = [
    '2026-08-19T11:39:00Z',
    '2026-08-19 11:39:00Z',
    '2026-08-19T11:39Z',
    '2026-08-19T11:39:00.5Z',
    '2026-08-19T11:39:00.123456Z',
    '2026-08-19T23:59:59.999999+00',
    '2026-03-29T01:30:00+01:00',
    '2026-10-25T02:30:00+0200',
    '2024-02-29T00:00:00-05:30',
    '1969-12-31T23:59:59.000001Z',
    '1900-01-01T00:00:00Z',
    '2299-12-31T23:59:59Z',
    '9999-12-31T23:59:59-15:59',
    '2026-01-01T00:00:00+14',
  ];
  const leftToPostgres = [
    '2026-08-19T24:00:00Z',
    '2026-08-19T23:59:60Z',
    '2026-02-29T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-08-19T11:39:00.1234567Z',
    '2026-08-19T11:39:00',
    '2026-08-19',
    ' 2026-08-19T11:39:00Z',
    '2026-08-19T11:39:00z',
    '0999-12-31T00:00:00Z',
    'now',
    'infinity',
    '2026-08-19T11:39:00 Europe/Berlin',
  ];

  test.each(['UTC', 'America/New_York', 'Asia/Kolkata', 'Pacific/Chatham'])('agree with PostgreSQL in TimeZone %s (and DateStyle SQL, DMY)', async (zone) => {
    await pg.query(`SET TimeZone = '${zone}'`);
    await pg.query('SET DateStyle = SQL, DMY');
    for (const text of read) {
      const r = await pg.query<{ e: string }>('SELECT extract(epoch FROM $1::timestamptz)::text AS e', [text]);
      expect([text, isoLiteralInstant(literal(text))]).toEqual([text, instantFromEpochText(r.rows[0].e)]);
    }
  });

  test('other forms are left to PostgreSQL', () => {
    for (const text of leftToPostgres) expect([text, isoLiteralInstant(literal(text))]).toEqual([text, undefined]);
    expect(isoLiteralInstant({ ParamRef: { number: 1 } })).toBeUndefined();
    expect(isoLiteralInstant({ A_Const: { ival: { ival: 5 } } })).toBeUndefined();
  });
});
