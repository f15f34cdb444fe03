// Client authentication and TLS: SCRAM-SHA-256 and md5 against the proxy's own users,
// TLS from a certificate made at test time, GSSAPI encryption refused, TLS required.
import { connect } from 'node:net';
import type { ClientConfig } from 'pg';
import { withClient } from '../support/postgres';
import { startProxyFixture, PROXY_PASSWORD, PROXY_USER, type ProxyFixture } from '../support/proxy-fixture';

function query(config: ClientConfig, sql: string): Promise<unknown[]> {
  return withClient(config, async (c) => (await c.query(sql)).rows);
}

describe('SCRAM-SHA-256 over TLS', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ tls: true });
  });
  afterAll(() => fx.stop());

  it('logs in with SCRAM over TLS (sslmode=require)', async () => {
    const rows = await query({ connectionString: fx.url, ssl: { rejectUnauthorized: false } }, 'SELECT 1 AS ok');
    expect(rows).toEqual([{ ok: 1 }]);
  });

  it('logs in with SCRAM without TLS when TLS is not required', async () => {
    expect(await query({ connectionString: fx.url }, 'SELECT 2 AS ok')).toEqual([{ ok: 2 }]);
  });

  it('refuses a wrong password and an unknown user with 28P01, the same way', async () => {
    await expect(query({ host: '127.0.0.1', port: fx.port, user: PROXY_USER, password: 'wrong', database: fx.db.name }, 'SELECT 1')).rejects.toMatchObject({
      code: '28P01',
      message: `password authentication failed for user "${PROXY_USER}"`,
    });
    await expect(query({ host: '127.0.0.1', port: fx.port, user: 'nobody', password: PROXY_PASSWORD, database: fx.db.name }, 'SELECT 1')).rejects.toMatchObject({ code: '28P01' });
  });

  it('passes PostgreSQL login errors through (database does not exist)', async () => {
    await expect(query({ host: '127.0.0.1', port: fx.port, user: PROXY_USER, password: PROXY_PASSWORD, database: 'no_such_db_here' }, 'SELECT 1')).rejects.toMatchObject({ code: '3D000' });
  });

  it('answers N to GSSENCRequest (GSSAPI encryption is never offered)', async () => {
    const socket = connect(fx.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const reply = new Promise<Buffer>((r) => socket.once('data', r));
    socket.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]));
    expect((await reply).toString()).toBe('N');
    socket.destroy();
  });

  it('never logs the password', () => {
    expect(fx.logs.join('\n')).not.toContain(PROXY_PASSWORD);
  });
});

describe('TLS required', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ tls: true, tlsRequired: true });
  });
  afterAll(() => fx.stop());

  it('refuses plain connections and serves TLS ones', async () => {
    await expect(query({ connectionString: fx.url }, 'SELECT 1')).rejects.toMatchObject({ code: '28000' });
    expect(await query({ connectionString: fx.url, ssl: { rejectUnauthorized: false } }, 'SELECT 3 AS ok')).toEqual([{ ok: 3 }]);
  });
});

describe('without a certificate', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture();
  });
  afterAll(() => fx.stop());

  it("answers N to SSLRequest, so sslmode=prefer clients go on in plain text", async () => {
    const socket = connect(fx.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const reply = new Promise<Buffer>((r) => socket.once('data', r));
    socket.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]));
    expect((await reply).toString()).toBe('N');
    socket.destroy();
  });
});

describe('TLS handshake hygiene', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ tls: true });
  });
  afterAll(() => fx.stop());

  it('refuses plain bytes sent after SSLRequest before the handshake (CVE-2021-23214)', async () => {
    const socket = connect(fx.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', () => undefined);
    const closed = new Promise((r) => socket.once('close', r));
    // SSLRequest and a startup packet in one write: the startup must not be read as if encrypted.
    socket.write(Buffer.concat([Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]), Buffer.from([0, 0, 0, 8, 0, 3, 0, 0])]));
    await closed;
    const all = Buffer.concat(received);
    expect(all[0]).not.toBe(0x53); // never 'S'
    expect(all.toString('latin1')).toContain('08P01');
  });
});

describe('md5', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ authMethod: 'md5' });
  });
  afterAll(() => fx.stop());

  it('logs in with md5 and refuses a wrong password', async () => {
    expect(await query({ connectionString: fx.url }, 'SELECT 4 AS ok')).toEqual([{ ok: 4 }]);
    await expect(query({ host: '127.0.0.1', port: fx.port, user: PROXY_USER, password: 'nope', database: fx.db.name }, 'SELECT 1')).rejects.toMatchObject({ code: '28P01' });
  });
});
