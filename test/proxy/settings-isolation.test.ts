// Session settings under transaction pooling, against the real proxy and PostgreSQL: two
// clients share one server (a pool of one), and each must see only its own settings —
// its login-time ones and its own SETs, as PostgreSQL alone would give it — whatever
// the other did on the server before it.
import { randomBytes } from 'node:crypto';
import { Client, type ClientConfig } from 'pg';
import { startProxyFixture, type ProxyFixture } from '../support/proxy-fixture';
import { adminUrl } from '../support/postgres';

describe('session settings under transaction pooling (one shared server)', () => {
  let fx: ProxyFixture;
  const clients: Client[] = [];
  const role = `settings_iso_${randomBytes(4).toString('hex')}`;
  /** What a fresh session of the test user shows, read straight from PostgreSQL. */
  let defaults: { searchPath: string; timeZone: string; floatDigits: string };

  async function connect(extra: Partial<ClientConfig> = {}): Promise<Client> {
    const client = new Client({ connectionString: fx.url, ...extra });
    await client.connect();
    clients.push(client);
    return client;
  }

  async function one(client: Client, sql: string): Promise<unknown> {
    const result = await client.query({ text: sql, rowMode: 'array' });
    return (result.rows[0] as unknown[])[0];
  }

  beforeAll(async () => {
    fx = await startProxyFixture({ poolMode: 'transaction', poolSize: 1 });
    const admin = new Client({ connectionString: fx.db.url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} NOLOGIN`);
      await admin.query(`GRANT ${role} TO CURRENT_USER`);
      await admin.query('CREATE SCHEMA s_a; CREATE SCHEMA s_b');
      await admin.query("CREATE TABLE public.t (val text); INSERT INTO public.t VALUES ('public')");
      await admin.query("CREATE TABLE s_a.t (val text); INSERT INTO s_a.t VALUES ('a')");
      await admin.query("CREATE TABLE s_b.t (val text); INSERT INTO s_b.t VALUES ('b')");
      const row = (await admin.query({ text: "SELECT current_setting('search_path'), current_setting('TimeZone'), current_setting('extra_float_digits')", rowMode: 'array' })).rows[0] as string[];
      defaults = { searchPath: row[0], timeZone: row[1], floatDigits: row[2] };
    } finally {
      await admin.end();
    }
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await fx.stop();
    const admin = new Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin.end();
  });

  it("keeps search_path, TimeZone, extra_float_digits and statement_timeout to the client that set them", async () => {
    const a = await connect();
    const b = await connect();
    await a.query("SET search_path = s_a, public; SET TimeZone = 'Asia/Tokyo'");
    await a.query('SET extra_float_digits = 0');
    await a.query("SET statement_timeout = '150ms'");
    expect(await one(a, 'SELECT val FROM t')).toBe('a');

    expect(await one(b, 'SELECT val FROM t')).toBe('public');
    expect(await one(b, "SHOW search_path")).toBe(defaults.searchPath);
    expect(await one(b, 'SHOW TimeZone')).toBe(defaults.timeZone);
    expect(await one(b, "SELECT (0.1::float8 + 0.2::float8)::text")).toBe('0.30000000000000004');
    expect(await one(b, 'SELECT pg_sleep(0.3)::text')).toBe('');

    // A's next transactions run with its own settings again, on the server B just used.
    expect(await one(a, 'SELECT val FROM t')).toBe('a');
    expect(await one(a, 'SHOW TimeZone')).toBe('Asia/Tokyo');
    expect(await one(a, "SELECT (0.1::float8 + 0.2::float8)::text")).toBe('0.3');
    await expect(a.query('SELECT pg_sleep(0.5)')).rejects.toMatchObject({ code: '57014' });
    expect(await one(b, 'SHOW statement_timeout')).toBe('0');
  });

  it("never lets one client's standard_conforming_strings = off change how another's string literals are read", async () => {
    const a = await connect();
    const b = await connect();
    await a.query('SET standard_conforming_strings = off');
    // With standard_conforming_strings off, '\\' in a plain literal is one backslash.
    expect(await one(a, String.raw`SELECT length('a\\b')`)).toBe(3);
    expect(await one(b, String.raw`SELECT length('a\\b')`)).toBe(4);
    expect(await one(b, 'SHOW standard_conforming_strings')).toBe('on');
    expect(await one(a, String.raw`SELECT length('a\\b')`)).toBe(3);
    await a.query('RESET standard_conforming_strings');
    expect(await one(a, String.raw`SELECT length('a\\b')`)).toBe(4);
  });

  it('keeps no SET of a rolled-back transaction, and SET LOCAL ends with its transaction', async () => {
    const a = await connect();
    const b = await connect();
    await a.query('SET search_path = s_a, public');
    await a.query('BEGIN');
    await a.query('SET search_path = s_b, public');
    await a.query('SET extra_float_digits = 0');
    expect(await one(a, 'SELECT val FROM t')).toBe('b');
    await a.query('ROLLBACK');
    expect(await one(b, 'SELECT val FROM t')).toBe('public');
    expect(await one(a, 'SELECT val FROM t')).toBe('a');
    expect(await one(a, 'SHOW extra_float_digits')).toBe(defaults.floatDigits);

    // SET LOCAL inside a transaction that also makes a session-level SET: only the latter stays.
    await a.query("BEGIN; SET LOCAL search_path = s_b, public; SET LOCAL TimeZone = 'Europe/Paris'; SET extra_float_digits = 0; COMMIT");
    expect(await one(b, 'SHOW extra_float_digits')).toBe(defaults.floatDigits);
    expect(await one(a, 'SELECT val FROM t')).toBe('a');
    expect(await one(a, 'SHOW TimeZone')).toBe(defaults.timeZone);
    expect(await one(a, 'SHOW extra_float_digits')).toBe('0');

    // A savepoint rolled back undoes the SET made after it.
    await a.query("BEGIN; SAVEPOINT s; SET search_path = s_b, public; ROLLBACK TO SAVEPOINT s; COMMIT");
    expect(await one(b, 'SELECT val FROM t')).toBe('public');
    expect(await one(a, 'SELECT val FROM t')).toBe('a');
  });

  it.each(['RESET ALL', 'DISCARD ALL'])('undoes the client’s settings on %s, and only its own', async (reset) => {
    const a = await connect();
    const b = await connect();
    await a.query('SET search_path = s_a, public; SET extra_float_digits = 0');
    await a.query(reset);
    await a.query("SET statement_timeout = '10s'");
    expect(await one(b, 'SHOW statement_timeout')).toBe('0');
    expect(await one(b, 'SELECT val FROM t')).toBe('public');
    expect(await one(a, 'SELECT val FROM t')).toBe('public');
    expect(await one(a, 'SHOW extra_float_digits')).toBe(defaults.floatDigits);
    expect(await one(a, 'SHOW statement_timeout')).toBe('10s');
  });

  it('keeps login-time settings (startup options) to their client, and RESET returns to them', async () => {
    const a = await connect({ options: '-c search_path=s_a,public -c extra_float_digits=0' });
    const b = await connect();
    expect(await one(a, 'SELECT val FROM t')).toBe('a');
    expect(await one(b, 'SELECT val FROM t')).toBe('public');
    expect(await one(b, 'SHOW extra_float_digits')).toBe(defaults.floatDigits);
    await a.query('SET search_path = s_b, public');
    expect(await one(a, 'SELECT val FROM t')).toBe('b');
    await a.query('RESET ALL');
    expect(await one(b, 'SELECT val FROM t')).toBe('public');
    // As in PostgreSQL: RESET goes back to the value the client logged in with.
    expect(await one(a, 'SELECT val FROM t')).toBe('a');
    expect(await one(a, 'SHOW extra_float_digits')).toBe('0');
  });

  it('tracks SETs sent through the extended protocol, set_config and custom settings', async () => {
    const a = await connect();
    const b = await connect();
    await a.query({ name: 'use-b', text: 'SET search_path TO s_b, public' });
    await a.query({ text: "SELECT set_config('extra_float_digits', $1, false)", values: ['0'] });
    await a.query("SET strata_test.tag = 'from-a'");
    await a.query("DO $$ BEGIN SET statement_timeout = '7s'; END $$");
    expect(await one(b, 'SHOW statement_timeout')).toBe('0');
    expect(await one(a, 'SHOW statement_timeout')).toBe('7s');
    expect(await one(b, 'SELECT val FROM t')).toBe('public');
    expect(await one(b, 'SHOW extra_float_digits')).toBe(defaults.floatDigits);
    expect(await one(b, "SELECT coalesce(current_setting('strata_test.tag', true), '')")).toBe('');
    expect(await one(a, 'SELECT val FROM t')).toBe('b');
    expect(await one(a, 'SHOW extra_float_digits')).toBe('0');
    expect(await one(a, "SELECT current_setting('strata_test.tag')")).toBe('from-a');
    // The named statement again, in a later transaction, after B used the server.
    await a.query('SET search_path TO public');
    await a.query({ name: 'use-b', text: 'SET search_path TO s_b, public' });
    expect(await one(b, 'SELECT val FROM t')).toBe('public');
    expect(await one(a, 'SELECT val FROM t')).toBe('b');
  });

  it('lends nothing of a client that SETs and leaves at once, or leaves inside a transaction', async () => {
    const b = await connect();
    const quick = new Client({ connectionString: fx.url });
    await quick.connect();
    await quick.query("SET search_path = s_a, public; SET TimeZone = 'Asia/Tokyo'");
    await quick.end();
    expect(await one(b, 'SELECT val FROM t')).toBe('public');
    expect(await one(b, 'SHOW TimeZone')).toBe(defaults.timeZone);

    const open = new Client({ connectionString: fx.url });
    await open.connect();
    await open.query('BEGIN; SET search_path = s_b, public');
    await open.end();
    expect(await one(b, 'SELECT val FROM t')).toBe('public');
  });

  it("does not lend one client's SET ROLE or SET SESSION AUTHORIZATION to another", async () => {
    const a = await connect();
    const b = await connect();
    const login = await one(b, 'SELECT current_user');
    await a.query(`SET ROLE ${role}`);
    expect(await one(b, 'SELECT current_user')).toBe(login);
    expect(await one(a, 'SELECT current_user')).toBe(role);
    await a.query('RESET ROLE');
    expect(await one(a, 'SELECT current_user')).toBe(login);

    // The proxy's PostgreSQL user is a superuser here: SET SESSION AUTHORIZATION works, and stays with A.
    await a.query(`SET SESSION AUTHORIZATION ${role}`);
    expect(await one(b, 'SELECT session_user')).toBe(login);
    expect(await one(a, 'SELECT session_user')).toBe(role);
    await a.query('RESET SESSION AUTHORIZATION');
    expect(await one(a, 'SELECT session_user')).toBe(login);
  });
});
