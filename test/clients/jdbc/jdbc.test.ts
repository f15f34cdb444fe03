// The PostgreSQL JDBC driver (Debian libpostgresql-jdbc-java) through the proxy.
import { join } from 'node:path';
import { startProxyFixture, PROXY_PASSWORD, PROXY_USER, type ProxyFixture } from '../../support/proxy-fixture';
import { CLIENT_CACHE, okSteps, runClient } from '../../support/proxy-clients';

describe('JDBC via the proxy', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ tls: true, tlsRequired: true });
  });
  afterAll(() => fx.stop());

  it('runs the scripted session', async () => {
    const result = await runClient('java', ['-cp', `${join(CLIENT_CACHE, 'jdbc')}:/usr/share/java/postgresql.jar`, 'JdbcSession'], {
      STRATA_TEST_USER: PROXY_USER,
      STRATA_TEST_PASSWORD: PROXY_PASSWORD,
      STRATA_TEST_PORT: String(fx.port),
      STRATA_TEST_DB: fx.db.name,
    });
    expect(result.stdout + result.stderr).toContain('--- done');
    expect(result.code).toBe(0);
    expect(okSteps(result.stdout)).toEqual(expect.arrayContaining(['connect scram tls', 'catalog metadata', 'prepared reuse 6', 'copy in', 'copy out', 'cancel pg_sleep', 'server error', 'recovery']));
  });
});
