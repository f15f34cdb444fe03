// lib/pq through the proxy: one scripted session, SCRAM over TLS.
import { join } from 'node:path';
import { startProxyFixture, PROXY_PASSWORD, PROXY_USER, type ProxyFixture } from '../../support/proxy-fixture';
import { CLIENT_CACHE, okSteps, runClient } from '../../support/proxy-clients';

describe('lib/pq via the proxy', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ tls: true, tlsRequired: true });
  });
  afterAll(() => fx.stop());

  it('runs the scripted session', async () => {
    const dsn = `postgres://${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}@127.0.0.1:${fx.port}/${fx.db.name}?sslmode=require`;
    const result = await runClient(join(CLIENT_CACHE, 'go', 'libpq'), [], { STRATA_TEST_DSN: dsn });
    expect(result.stdout).toContain('--- done');
    expect(result.code).toBe(0);
    expect(okSteps(result.stdout)).toEqual(expect.arrayContaining(['connect scram tls', 'prepared reuse 5', 'copy in rows', 'cancel pg_sleep', 'server error', 'recovery']));
  });
});
