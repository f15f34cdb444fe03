import { Client } from 'pg';
import { ProxyConfigError, resolveProxyConfig } from '@strata/proxy';
import { adminUrl } from '../support/postgres';
import { makeSelfSignedCert, startProxyFixture, PROXY_PASSWORD, PROXY_USER, type ProxyFixture } from '../support/proxy-fixture';

/**
 * TLS from the proxy to PostgreSQL, as STRATA_PG_URL's sslmode and sslrootcert say
 * (libpq's meanings), against the machine's real PostgreSQL (ssl = on, Debian's
 * self-signed certificate). pg_stat_ssl, asked through the proxy, tells whether the
 * proxy's own connection to PostgreSQL is encrypted.
 */

const backendUrl = (params: string) => {
  const u = new URL(adminUrl());
  for (const [k, v] of new URLSearchParams(params)) u.searchParams.set(k, v);
  return u.toString();
};

async function viaProxy<T>(fx: ProxyFixture, run: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: fx.url });
  await c.connect();
  try {
    return await run(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const backendSsl = (fx: ProxyFixture) =>
  viaProxy(fx, async (c) => (await c.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0].ssl);

describe('TLS from the proxy to PostgreSQL (sslmode in STRATA_PG_URL)', () => {
  let serverCertFile: string;

  beforeAll(async () => {
    const admin = new Client({ connectionString: adminUrl() });
    await admin.connect();
    try {
      const ssl = (await admin.query<{ ssl: string }>('SHOW ssl')).rows[0].ssl;
      if (ssl !== 'on') throw new Error('these tests need PostgreSQL with ssl = on (Debian’s default; scripts/ensure-deps.sh installs it so)');
      serverCertFile = (await admin.query<{ f: string }>("SELECT current_setting('ssl_cert_file') AS f")).rows[0].f;
    } finally {
      await admin.end();
    }
  });

  const withProxy = async (params: string, run: (fx: ProxyFixture) => Promise<void>, extra: Record<string, unknown> = {}) => {
    const fx = await startProxyFixture({ backendUrl: backendUrl(params), ...extra });
    try {
      await run(fx);
    } finally {
      await fx.stop();
    }
  };

  test.each([
    ['sslmode=require', true],
    ['sslmode=prefer', true],
    ['sslmode=disable', false],
    ['', false],
  ])('%s → encrypted: %s', async (params, encrypted) => {
    await withProxy(params, async (fx) => expect(await backendSsl(fx)).toBe(encrypted));
  });

  test('verify-ca: the server certificate chains to sslrootcert', async () => {
    await withProxy(`sslmode=verify-ca&sslrootcert=${serverCertFile}`, async (fx) => expect(await backendSsl(fx)).toBe(true));
  });

  test('verify-full: a certificate that does not name the host is refused, and the client is told why', async () => {
    // Debian's certificate names localhost, not 127.0.0.1.
    await withProxy(`sslmode=verify-full&sslrootcert=${serverCertFile}`, async (fx) => {
      await expect(backendSsl(fx)).rejects.toMatchObject({ code: '08006', message: expect.stringMatching(/TLS to PostgreSQL failed \(sslmode=verify-full\).*ERR_TLS_CERT_ALTNAME_INVALID/) });
    });
  });

  test('verify-ca: a certificate from another authority is refused', async () => {
    const other = makeSelfSignedCert();
    await withProxy(`sslmode=verify-ca&sslrootcert=${other.cert}`, async (fx) => {
      await expect(backendSsl(fx)).rejects.toMatchObject({ code: '08006', message: expect.stringContaining('TLS to PostgreSQL failed (sslmode=verify-ca)') });
    });
  });

  test('the proxy cancels over TLS too (query timeout)', async () => {
    await withProxy(
      'sslmode=require',
      async (fx) => {
        await viaProxy(fx, async (c) => {
          await expect(c.query('SELECT pg_sleep(10)')).rejects.toMatchObject({ code: '57014' });
          expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
        });
      },
      { queryTimeoutMs: 500 },
    );
  });

  test('bad settings are refused at start, naming the problem', () => {
    const base = { listen: '127.0.0.1:0', users: { [PROXY_USER]: PROXY_PASSWORD } };
    expect(() => resolveProxyConfig({ ...base, backendUrl: backendUrl('sslmode=allow') })).toThrow(ProxyConfigError);
    expect(() => resolveProxyConfig({ ...base, backendUrl: backendUrl('sslmode=allow') })).toThrow(/sslmode=allow is not supported/);
    expect(() => resolveProxyConfig({ ...base, backendUrl: backendUrl('sslmode=verify-full&sslrootcert=/nonexistent/root.pem') })).toThrow(/cannot read sslrootcert/);
  });
});
