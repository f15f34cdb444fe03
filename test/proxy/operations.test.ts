// Operations: /metrics, logs without SQL, parameters or credentials, config validation,
// graceful shutdown that lets an open transaction finish, and the main.ts entry point.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Client } from 'pg';
import { resolveProxyConfig, ProxyConfigError, proxyConfigFromEnv } from '@strata/proxy';
import { adminUrl } from '../support/postgres';
import { repoPath } from '../support/paths';
import { startProxyFixture, PROXY_PASSWORD, PROXY_USER, type ProxyFixture } from '../support/proxy-fixture';

describe('metrics and logs', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture();
  });
  afterAll(() => fx.stop());

  it('exports connections, queries, latency, errors and pool state', async () => {
    const c = new Client({ connectionString: fx.url });
    await c.connect();
    await c.query("SELECT 'literal-secret-99' AS v");
    await c.query('SELECT $1::text AS v', ['param-secret-77']);
    await expect(c.query("SELECT * FROM missing_table_xyz WHERE x = 'literal-secret-55'")).rejects.toThrow();
    const text = await (await fetch(fx.proxy.metricsUrl!)).text();
    await c.end();
    expect(text).toMatch(/strata_proxy_client_connections 1/);
    expect(text).toMatch(/strata_proxy_queries_total\{route="postgres"\} [3-9]/);
    expect(text).toMatch(/strata_proxy_query_duration_seconds_count [3-9]/);
    expect(text).toMatch(/strata_proxy_pool_servers\{database="[^"]+"\} 1/);
    expect(text).toMatch(/strata_proxy_pool_servers_idle\{database="[^"]+"\} 1/);
    const logs = fx.logs.join('\n');
    expect(logs).toContain('client connected');
    for (const secret of ['literal-secret-99', 'param-secret-77', 'literal-secret-55', 'missing_table_xyz', PROXY_PASSWORD]) expect(logs).not.toContain(secret);
  });
});

describe('configuration', () => {
  it('is validated once, with a clear error and no default password', () => {
    expect(() => resolveProxyConfig({ backendUrl: adminUrl() })).toThrow(ProxyConfigError);
    expect(() => resolveProxyConfig({ backendUrl: adminUrl() })).toThrow(/no users configured/);
    expect(() => resolveProxyConfig({ users: { a: 'b' } })).toThrow(/STRATA_PG_URL/);
    expect(() => resolveProxyConfig({ backendUrl: adminUrl(), users: { a: 'b' }, poolMode: 'statement' })).toThrow(/pool mode/);
    expect(() => resolveProxyConfig({ backendUrl: adminUrl(), users: { a: 'b' }, listen: 'nowhere' })).toThrow(/host:port/);
    expect(() => resolveProxyConfig({ backendUrl: adminUrl(), users: { a: 'b' }, tlsRequired: true })).toThrow(/TLS/);
    expect(() => resolveProxyConfig({ backendUrl: adminUrl(), users: { a: 'b' }, catalogRefreshMs: 50 })).toThrow(/at least 100 ms/);
    // Delegated auth: no configured users needed, SCRAM only, the user name as $1.
    expect(resolveProxyConfig({ backendUrl: adminUrl(), authQuery: 'SELECT rolpassword FROM pg_authid WHERE rolname = $1' }).auth.query).toMatch(/\$1/);
    expect(() => resolveProxyConfig({ backendUrl: adminUrl(), authQuery: 'SELECT rolpassword FROM pg_authid', users: { a: 'b' } })).toThrow(/\$1/);
    expect(() => resolveProxyConfig({ backendUrl: adminUrl(), authQuery: 'SELECT $1', authMethod: 'md5', users: { a: 'b' } })).toThrow(/scram-sha-256/);
  });

  it('reads the environment', () => {
    const config = proxyConfigFromEnv({
      STRATA_PG_URL: 'postgres://proxy:pw@db.internal:5433/authdb',
      STRATA_PROXY_LISTEN: '0.0.0.0:7432',
      STRATA_PROXY_USERS: 'alice:one,bob:two',
      STRATA_PROXY_POOL_MODE: 'session',
      STRATA_PROXY_POOL_SIZE: '7',
      STRATA_PROXY_CATALOG_REFRESH_MS: '2500',
      STRATA_PROXY_AUTH_QUERY: 'SELECT strata_auth.verifier($1)',
    });
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 7432 });
    expect(config.backend).toEqual({ host: 'db.internal', port: 5433, user: 'proxy', password: 'pw', database: 'authdb', tls: { mode: 'disable', ca: undefined } });
    expect(config.auth.query).toBe('SELECT strata_auth.verifier($1)');
    expect([...config.auth.users.keys()]).toEqual(['alice', 'bob']);
    expect(config.poolMode).toBe('session');
    expect(config.pool.size).toBe(7);
    expect(config.catalogRefreshMs).toBe(2500);
  });
});

describe('graceful shutdown', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ shutdownTimeoutMs: 5000 });
  });
  afterAll(() => fx.db.drop());

  it('ends idle sessions, lets an open transaction commit, then stops', async () => {
    const idle = new Client({ connectionString: fx.url });
    const busy = new Client({ connectionString: fx.url });
    for (const c of [idle, busy]) {
      c.on('error', () => undefined);
      await c.connect();
    }
    await busy.query('CREATE TABLE done_marker (v int)');
    await busy.query('BEGIN');
    await busy.query('INSERT INTO done_marker VALUES (1)');
    const idleEnded = new Promise((r) => idle.once('end', r));
    const closing = fx.proxy.close();
    await idleEnded;
    await busy.query('INSERT INTO done_marker VALUES (2)');
    await busy.query('COMMIT').catch(() => undefined);
    await closing;
    expect(fx.proxy.sessions()).toBe(0);
    const check = new Client({ connectionString: fx.db.url });
    await check.connect();
    expect((await check.query('SELECT count(*)::int AS n FROM done_marker')).rows).toEqual([{ n: 2 }]);
    await check.end();
  });
});

describe('main.ts', () => {
  it('serves from the environment and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [repoPath('proxy/dist/main.js')], {
      env: { ...process.env, STRATA_PG_URL: adminUrl(), STRATA_PROXY_LISTEN: '127.0.0.1:0', STRATA_PROXY_USERS: `${PROXY_USER}:${PROXY_PASSWORD}`, STRATA_LOG_LEVEL: 'warn', STRATA_PROXY_PASSTHROUGH: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    const { listening } = JSON.parse(line.toString().split('\n')[0]) as { listening: string };
    const c = new Client({ connectionString: `postgres://${PROXY_USER}:${PROXY_PASSWORD}@${listening}/postgres` });
    await c.connect();
    expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await c.end();
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
  });

  it('refuses to start without ClickHouse unless told to pass through', async () => {
    const child = spawn(process.execPath, [repoPath('proxy/dist/main.js')], {
      env: { PATH: process.env.PATH, STRATA_PG_URL: adminUrl(), STRATA_PROXY_LISTEN: '127.0.0.1:0', STRATA_PROXY_USERS: `${PROXY_USER}:${PROXY_PASSWORD}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(2);
    expect(stderr).toMatch(/no ClickHouse configured/);
  });

  it('exits 2 with a message when misconfigured', async () => {
    const child = spawn(process.execPath, [repoPath('proxy/dist/main.js')], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(2);
    expect(stderr).toMatch(/STRATA_PG_URL/);
  });
});
