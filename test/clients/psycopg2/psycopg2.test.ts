// psycopg2 (Debian python3-psycopg2, libpq underneath) through the proxy.
import { join } from 'node:path';
import { startProxyFixture, PROXY_PASSWORD, PROXY_USER, type ProxyFixture } from '../../support/proxy-fixture';
import { okSteps, runClient } from '../../support/proxy-clients';

describe('psycopg2 via the proxy', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ tls: true, tlsRequired: true });
  });
  afterAll(() => fx.stop());

  it('runs the scripted session', async () => {
    const dsn = `host=127.0.0.1 port=${fx.port} dbname=${fx.db.name} user=${PROXY_USER} password=${PROXY_PASSWORD} sslmode=require`;
    // Debian's interpreter, where python3-psycopg2 is installed (not a pyenv shim).
    const result = await runClient('/usr/bin/python3', [join(__dirname, 'session.py')], { STRATA_TEST_DSN: dsn });
    expect(result.stdout + result.stderr).toContain('--- done');
    expect(result.code).toBe(0);
    expect(okSteps(result.stdout)).toEqual(expect.arrayContaining(['connect scram tls', 'catalog query', 'prepared reuse 3', 'copy in and out', 'cancel pg_sleep', 'server error', 'recovery']));
  });
});
