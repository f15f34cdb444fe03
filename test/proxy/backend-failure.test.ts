// PostgreSQL going away: a client mid-query gets an error (not a hang), the proxy keeps
// running, and the pools recover by themselves when PostgreSQL is back. Also query
// timeouts, pool wait timeouts, and a pooled connection killed by PostgreSQL.
import { Client } from 'pg';
import { adminUrl } from '../support/postgres';
import { connectClient, startProxyFixture, type ProxyFixture } from '../support/proxy-fixture';
import { startForwarder, type Forwarder } from '../support/proxy-tcp-forwarder';

describe('a PostgreSQL that dies and comes back', () => {
  let forwarder: Forwarder;
  let fx: ProxyFixture;
  beforeAll(async () => {
    forwarder = await startForwarder(Number(new URL(adminUrl()).port || 5432));
    const backend = new URL(adminUrl());
    backend.port = String(forwarder.port);
    fx = await startProxyFixture({ backendUrl: backend.toString(), connectTimeoutMs: 1000, healthCheckAfterMs: 0 });
  });
  afterAll(async () => {
    await fx.stop();
    await forwarder.stop();
  });

  it('fails the running query, answers errors while down, and recovers', async () => {
    const busy = await connectClient(fx.url);
    const idle = await connectClient(fx.url);
    const running = busy.query('SELECT pg_sleep(20)');
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await forwarder.kill();
    await expect(running).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);

    // The idle client's session survives (transaction pooling); its query fails cleanly while PostgreSQL is away.
    await expect(idle.query('SELECT 1')).rejects.toMatchObject({ code: '08006' });
    await forwarder.revive();
    expect((await idle.query('SELECT 1 AS back')).rows).toEqual([{ back: 1 }]);
    const fresh = await connectClient(fx.url);
    expect((await fresh.query('SELECT 2 AS back')).rows).toEqual([{ back: 2 }]);
    await Promise.all([idle.end(), fresh.end(), busy.end().catch(() => undefined)]);
  });
});

describe('timeouts and killed servers', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ poolSize: 1, acquireTimeoutMs: 500, queryTimeoutMs: 1000 });
  });
  afterAll(() => fx.stop());

  it('cancels a statement that runs past the query timeout', async () => {
    const c = await connectClient(fx.url);
    const started = Date.now();
    await expect(c.query('SELECT pg_sleep(10)')).rejects.toMatchObject({ code: '57014' });
    // The extended protocol too (the timeout runs from Sync).
    await expect(c.query('SELECT pg_sleep($1)', [10])).rejects.toMatchObject({ code: '57014' });
    expect(Date.now() - started).toBeLessThan(8000);
    expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await c.end();
  });

  it('answers 53300 when no server frees up in time, then serves the client', async () => {
    const holder = await connectClient(fx.url);
    const waiter = await connectClient(fx.url);
    await holder.query('BEGIN');
    await expect(waiter.query('SELECT 1')).rejects.toMatchObject({ code: '53300' });
    await holder.query('COMMIT');
    expect((await waiter.query('SELECT 3 AS ok')).rows).toEqual([{ ok: 3 }]);
    await Promise.all([holder.end(), waiter.end()]);
  });

  it('replaces a pooled connection that PostgreSQL terminated', async () => {
    const c = await connectClient(fx.url);
    await c.query('SELECT 1');
    const admin = new Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'", [fx.db.name]);
    await admin.end();
    await new Promise((r) => setTimeout(r, 200));
    expect((await c.query('SELECT 4 AS ok')).rows).toEqual([{ ok: 4 }]);
    await c.end();
  });
});

describe('idle timeout and health check', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ idleTimeoutMs: 300, healthCheckAfterMs: 50 });
  });
  afterAll(() => fx.stop());

  async function poolServers(): Promise<number> {
    const text = await (await fetch(fx.proxy.metricsUrl!)).text();
    const m = /strata_proxy_pool_servers\{database="[^"]+"\} (\d+)/.exec(text);
    return m ? Number(m[1]) : 0;
  }

  it('closes idle servers after the idle timeout and health-checks old ones before lending them', async () => {
    const c = await connectClient(fx.url);
    await c.query('SELECT 1');
    expect(await poolServers()).toBe(1);
    await new Promise((r) => setTimeout(r, 120));
    // Idle past healthCheckAfterMs: checked with an empty query, then lent.
    expect((await c.query('SELECT 2 AS ok')).rows).toEqual([{ ok: 2 }]);
    await new Promise((r) => setTimeout(r, 900));
    expect(await poolServers()).toBe(0);
    expect((await c.query('SELECT 3 AS ok')).rows).toEqual([{ ok: 3 }]);
    await c.end();
  });
});
