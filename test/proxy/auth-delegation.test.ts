// Delegated auth (STRATA_PROXY_AUTH_QUERY): users the proxy does not know are checked
// against the SCRAM verifier PostgreSQL holds, and their sessions log in to PostgreSQL
// as themselves with the keys their proof revealed (no password stored in the proxy).
// A scratch PostgreSQL that demands scram-sha-256 from every role but the proxy's own,
// so the pass-through login is really checked by PostgreSQL.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { startScratchCluster, type ScratchCluster } from '../support/pg-cluster';
import { startProxyFixture, PROXY_PASSWORD, PROXY_USER, type ProxyFixture } from '../support/proxy-fixture';
import { withClient, type TestDatabase } from '../support/postgres';

// The recipe proxy/README.md gives: a SECURITY DEFINER function, so the proxy's own user
// needs no superuser to read verifiers, and superusers cannot log in through the proxy.
const AUTH_FUNCTION = `
  CREATE SCHEMA strata_auth;
  CREATE FUNCTION strata_auth.verifier(name) RETURNS text LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT rolpassword FROM pg_authid
     WHERE rolname = $1 AND rolcanlogin AND NOT rolsuper AND (rolvaliduntil IS NULL OR rolvaliduntil > now())
  $$;
  REVOKE ALL ON FUNCTION strata_auth.verifier(name) FROM PUBLIC;`;
const AUTH_QUERY = 'SELECT strata_auth.verifier($1)';

function query(port: number, user: string, password: string, sql: string): Promise<Array<Record<string, unknown>>> {
  return withClient({ host: '127.0.0.1', port, user, password, database: 'postgres' }, async (c) => (await c.query(sql)).rows);
}

describe('auth delegated to PostgreSQL', () => {
  let cluster: ScratchCluster;
  let admin: Client;
  let fx: ProxyFixture;
  // The scratch cluster's own database: nothing to create or drop per fixture.
  const db = (): TestDatabase => ({ name: 'postgres', url: cluster.url, drop: async () => undefined }) as TestDatabase;

  beforeAll(async () => {
    cluster = await startScratchCluster();
    writeFileSync(join(cluster.dataDir, 'pg_hba.conf'), ['local all all trust', 'host all postgres 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'));
    admin = new Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query('SELECT pg_reload_conf()');
    await admin.query("CREATE ROLE alice LOGIN PASSWORD 'alice-pw-1'");
    await admin.query("SET password_encryption = 'md5'");
    await admin.query("CREATE ROLE bob LOGIN PASSWORD 'bob-pw'");
    await admin.query('RESET password_encryption');
    await admin.query('CREATE TABLE public.shared (x int); INSERT INTO public.shared VALUES (1); GRANT SELECT ON public.shared TO alice');
    await admin.query('CREATE TABLE public.private (x int)');
    await admin.query(AUTH_FUNCTION);
    await admin.query("CREATE ROLE root_like LOGIN SUPERUSER PASSWORD 'root-pw'");
    fx = await startProxyFixture({ db: db(), backendUrl: cluster.url, authQuery: AUTH_QUERY, poolMode: 'transaction' });
  }, 60_000);

  afterAll(async () => {
    await fx?.stop();
    await admin?.end();
    cluster?.destroy();
  });

  it('logs a PostgreSQL role in with its own password and runs its statements as that role', async () => {
    expect(await query(fx.port, 'alice', 'alice-pw-1', 'SELECT current_user AS cu, session_user AS su, (SELECT x FROM public.shared) AS x')).toEqual([{ cu: 'alice', su: 'alice', x: 1 }]);
  });

  it("keeps PostgreSQL's privileges: the role reads only what it may", async () => {
    await expect(query(fx.port, 'alice', 'alice-pw-1', 'SELECT * FROM public.private')).rejects.toMatchObject({ code: '42501' });
  });

  it('refuses a wrong password, an unknown role and a role without a SCRAM verifier with the same 28P01', async () => {
    for (const [user, password] of [
      ['alice', 'wrong'],
      ['nobody', 'whatever'],
      ['bob', 'bob-pw'],
      ['root_like', 'root-pw'],
    ]) {
      await expect(query(fx.port, user, password, 'SELECT 1')).rejects.toMatchObject({ code: '28P01', message: `password authentication failed for user "${user}"` });
    }
    const reasons = fx.logs.filter((l) => l.includes('authentication failed')).map((l) => JSON.parse(l).reason);
    expect(reasons).toEqual(expect.arrayContaining(['SCRAM proof does not match', 'unknown user', 'no SCRAM verifier']));
  });

  it('configured users still log in as the proxy and run as its PostgreSQL user', async () => {
    expect(await query(fx.port, PROXY_USER, PROXY_PASSWORD, 'SELECT current_user AS cu')).toEqual([{ cu: 'postgres' }]);
  });

  it('follows a password change: the old password stops working, the new one logs in to PostgreSQL', async () => {
    await admin.query("ALTER ROLE alice PASSWORD 'alice-pw-2'");
    await expect(query(fx.port, 'alice', 'alice-pw-1', 'SELECT 1')).rejects.toMatchObject({ code: '28P01' });
    // Several at once, so the pool opens new servers, which must log in with the new keys.
    const results = await Promise.all(Array.from({ length: 4 }, () => query(fx.port, 'alice', 'alice-pw-2', 'SELECT current_user AS cu, pg_sleep(0.2)::text AS s')));
    expect(results.flat().map((r) => r.cu)).toEqual(['alice', 'alice', 'alice', 'alice']);
  });

  it('never logs a password or a verifier', () => {
    const text = fx.logs.join('\n');
    for (const secret of ['alice-pw-1', 'alice-pw-2', 'bob-pw', 'SCRAM-SHA-256$']) expect(text).not.toContain(secret);
  });

  it('a failing auth query ends the login with 08006, not a password error', async () => {
    const broken = await startProxyFixture({ db: db(), backendUrl: cluster.url, authQuery: 'SELECT no_such_column FROM pg_catalog.pg_authid WHERE rolname = $1' });
    try {
      await expect(query(broken.port, 'alice', 'alice-pw-2', 'SELECT 1')).rejects.toMatchObject({ code: '08006', message: 'could not check the password: the proxy cannot query PostgreSQL for it' });
    } finally {
      await broken.stop();
    }
  });
});
