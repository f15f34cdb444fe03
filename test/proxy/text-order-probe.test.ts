import { Client } from 'pg';
import { PROBE_STRINGS, probeTextOrder } from '../../proxy/src/engine/text-order-probe';
import { adminUrl } from '../support/postgres';

/**
 * The probe of the database default collation's order (engine/text-order-probe.ts) against
 * the real PostgreSQL, in databases of each default this machine offers: libc C, libc
 * C.UTF-8 (glibc ≥ 2.35: code point order, which the probe must confirm) and ICU.
 */
describe('probeTextOrder', () => {
  const admin = new Client({ connectionString: adminUrl() });
  const databases: string[] = [];

  beforeAll(() => admin.connect());
  afterAll(async () => {
    for (const d of databases) await admin.query(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`);
    await admin.end();
  });

  async function probeIn(name: string, options: string) {
    const database = `strata_text_order_${name}_${process.pid}`;
    databases.push(database);
    await admin.query(`CREATE DATABASE ${database} TEMPLATE template0 ENCODING 'UTF8' ${options}`);
    const url = new URL(adminUrl());
    url.pathname = `/${database}`;
    const c = new Client({ connectionString: url.toString() });
    await c.connect();
    try {
      return await probeTextOrder(c, database);
    } finally {
      await c.end();
    }
  }

  test.each([
    ['libc C: byte order by PostgreSQL’s definition', 'c', "LOCALE_PROVIDER libc LOCALE 'C'", { defaultBytewise: true, cUtf8Bytewise: false }],
    ['libc C.UTF-8: byte order as probed', 'cutf8', "LOCALE_PROVIDER libc LOCALE 'C.UTF-8'", { defaultBytewise: true, cUtf8Bytewise: true }],
    ['ICU en-US: never', 'icu', "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'", { defaultBytewise: false, cUtf8Bytewise: false }],
  ])('%s', async (_name, name, options, expected) => {
    expect(await probeIn(name, options)).toEqual(expected);
  });

  test.each(['en-x-icu', 'und-x-icu', 'sv-x-icu', 'de-x-icu'])('the probe strings tell %s from byte order', async (collation) => {
    const r = await admin.query(
      `SELECT array_agg(s ORDER BY s COLLATE "${collation}") = array_agg(s ORDER BY s COLLATE "C") AS same,
              array_agg(s ORDER BY s COLLATE "C.utf8") = array_agg(s ORDER BY s COLLATE "C") AS c_utf8_same
         FROM unnest($1::text[]) AS s`,
      [PROBE_STRINGS],
    );
    expect(r.rows[0]).toEqual({ same: false, c_utf8_same: true });
  });
});
