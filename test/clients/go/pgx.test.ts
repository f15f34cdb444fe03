// pgx v5 (Grafana's driver since 12.4) through the proxy: one scripted session, SCRAM over TLS.
import { join } from 'node:path';
import { startProxyFixture, PROXY_PASSWORD, PROXY_USER, type ProxyFixture } from '../../support/proxy-fixture';
import { CLIENT_CACHE, okSteps, runClient } from '../../support/proxy-clients';

describe.each(['transaction', 'session'] as const)('pgx v5 via the proxy (%s pooling)', (poolMode) => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ tls: true, tlsRequired: true, poolMode });
  });
  afterAll(() => fx.stop());

  it('runs the scripted session', async () => {
    const dsn = `postgres://${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}@127.0.0.1:${fx.port}/${fx.db.name}?sslmode=require`;
    const result = await runClient(join(CLIENT_CACHE, 'go', 'pgx'), [], { STRATA_TEST_DSN: dsn });
    expect(result.stdout).toContain('--- done');
    expect(result.code).toBe(0);
    expect(okSteps(result.stdout)).toEqual(expect.arrayContaining(['connect scram tls', 'tls in use', 'grafana ping', 'prepared reuse 5', 'copy in', 'copy out', 'cancel pg_sleep', 'cancel reached PostgreSQL', 'server error', 'recovery', 'pipelined batch']));
  });
});
