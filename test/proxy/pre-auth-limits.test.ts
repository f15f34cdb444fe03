// Limits before authentication (issue 16, item 2): a client that has not logged in can
// send only small messages (PostgreSQL's own limits), must log in within
// STRATA_PROXY_AUTH_TIMEOUT_MS, and counts against STRATA_PROXY_MAX_CLIENTS (53300 past
// it). Many stalled clients leave the proxy's memory bounded and other clients served.
import { connect, type Socket } from 'node:net';
import { Client } from 'pg';
import { proxyConfigFromEnv, resolveProxyConfig, wire } from '@strata/proxy';
import { adminUrl } from '../support/postgres';
import { connectClient, startProxyFixture, PROXY_USER, type ProxyFixture } from '../support/proxy-fixture';

const MiB = 1024 * 1024;

/** A bare socket that keeps everything the proxy sends. */
interface RawClient {
  socket: Socket;
  closed: Promise<void>;
  isClosed(): boolean;
  received(): Buffer;
  /** Resolves once at least `bytes` have arrived (or the socket closed). */
  receivedAtLeast(bytes: number): Promise<void>;
}

async function openRaw(port: number): Promise<RawClient> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let total = 0;
  let closed = false;
  let waiter: (() => void) | null = null;
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    total += chunk.length;
    waiter?.();
  });
  const closedPromise = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      waiter?.();
      resolve();
    }),
  );
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    closed: closedPromise,
    isClosed: () => closed,
    received: () => Buffer.concat(chunks),
    receivedAtLeast: (bytes) =>
      new Promise((resolve) => {
        const check = () => {
          if (total >= bytes || closed) {
            waiter = null;
            resolve();
          }
        };
        waiter = check;
        check();
      }),
  };
}

function errorsIn(bytes: Buffer): wire.ErrorFields[] {
  const errors: wire.ErrorFields[] = [];
  new wire.FrameReader(1 << 20).push(bytes, (type, frame) => {
    if (type === wire.Backend.errorResponse) errors.push(wire.decodeErrorResponse(frame));
  });
  return errors;
}

/** The header of a message of `type` that announces `bodyBytes`, then `sent` bytes of it. */
function partialMessage(type: number, bodyBytes: number, sent: number): Buffer {
  const header = Buffer.alloc(5);
  header[0] = type;
  header.writeInt32BE(bodyBytes + 4, 1);
  return Buffer.concat([header, Buffer.alloc(sent, 0x78)]);
}

/** Sends a StartupMessage and waits for the proxy's first authentication request. */
async function startLogin(client: RawClient, database: string): Promise<void> {
  client.socket.write(wire.encodeStartupMessage({ user: PROXY_USER, database }));
  await client.receivedAtLeast(9);
}

/** Memory the process holds outside the JS heap for buffers, plus its resident size. */
function memory(): { buffers: number; rss: number } {
  const usage = process.memoryUsage();
  return { buffers: usage.arrayBuffers, rss: usage.rss };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}

describe('message size before authentication', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture();
  });
  afterAll(() => fx.stop());

  it('refuses a 64 MiB message announced during login at once, without buffering it', async () => {
    const client = await openRaw(fx.port);
    await startLogin(client, fx.db.name);
    const before = memory();
    // The header and 16 KiB of a 64 MiB SASLInitialResponse; the rest never comes.
    client.socket.write(partialMessage(wire.Frontend.password, 64 * MiB, 16 * 1024));
    await client.closed;
    const after = memory();
    expect(errorsIn(client.received())).toEqual([
      expect.objectContaining({ severity: 'FATAL', code: '08P01', message: expect.stringMatching(/exceeds the limit of 65535/) }),
    ]);
    expect(after.buffers - before.buffers).toBeLessThan(8 * MiB);
  });

  it('refuses a 64 MiB startup packet', async () => {
    const client = await openRaw(fx.port);
    const header = Buffer.alloc(4);
    header.writeInt32BE(64 * MiB);
    client.socket.write(Buffer.concat([header, Buffer.alloc(1024)]));
    await client.closed;
    expect(errorsIn(client.received())).toEqual([expect.objectContaining({ severity: 'FATAL', code: '08P01' })]);
  });

  it('still takes messages up to the configured maximum once logged in', async () => {
    const client = await connectClient(fx.url);
    const big = 'y'.repeat(2 * MiB);
    expect((await client.query('SELECT length($1::text) AS n', [big])).rows).toEqual([{ n: big.length }]);
    await client.end();
  });
});

describe('200 stalled unauthenticated clients', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ authTimeoutMs: 120000 });
  });
  afterAll(() => fx.stop());

  it('leave the proxy memory bounded and other clients served', async () => {
    const before = memory();
    const stalled: RawClient[] = [];
    const refused: RawClient[] = [];
    for (let i = 0; i < 200; i++) {
      const client = await openRaw(fx.port);
      switch (i % 4) {
        case 0: // connects and says nothing
          stalled.push(client);
          break;
        case 1: // half a startup packet of the largest size PostgreSQL takes
          client.socket.write(Buffer.concat([Buffer.from([0, 0, 0x27, 0x10]), Buffer.alloc(100)]));
          stalled.push(client);
          break;
        case 2: // logs in halfway, then announces 64 MiB and trickles it
          await startLogin(client, fx.db.name);
          client.socket.write(partialMessage(wire.Frontend.password, 64 * MiB, 64 * 1024));
          refused.push(client);
          break;
        case 3: // logs in halfway, then stalls inside a SASL message of an allowed size
          await startLogin(client, fx.db.name);
          client.socket.write(partialMessage(wire.Frontend.password, 60000, 1000));
          stalled.push(client);
          break;
      }
    }
    // Those announcing 64 MiB are refused at once; without the limit they would wait for
    // the rest forever, so give up waiting after a while and let the memory check speak.
    await Promise.race([Promise.all(refused.map((c) => c.closed)), new Promise((r) => setTimeout(r, 5000))]);
    const after = memory();
    // Each stalled client may hold at most one pending message (< 64 KiB): 150 of them
    // well under 16 MiB. Without the limit this was 50 × 64 MiB of buffers.
    expect(after.buffers - before.buffers).toBeLessThan(32 * MiB);
    expect(after.rss - before.rss).toBeLessThan(256 * MiB);
    for (const client of refused) expect(errorsIn(client.received())).toEqual([expect.objectContaining({ code: '08P01' })]);
    await until(() => fx.proxy.sessions() === stalled.length);

    // Served meanwhile: a client logs in and queries past the 150 stalled ones.
    const good = await connectClient(fx.url);
    expect((await good.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await good.end();
    expect(stalled.filter((c) => c.isClosed())).toHaveLength(0);

    for (const client of stalled) client.socket.destroy();
    await until(() => fx.proxy.sessions() === 0);
  });
});

describe('authentication timeout', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ authTimeoutMs: 300 });
  });
  afterAll(() => fx.stop());

  it.each([
    ['sends nothing', async (_client: RawClient) => undefined],
    ['stops halfway through SCRAM', (client: RawClient) => startLogin(client, fx.db.name)],
  ])('closes a client that %s, with FATAL 57014', async (_name, stall) => {
    const client = await openRaw(fx.port);
    await stall(client);
    await client.closed;
    expect(errorsIn(client.received())).toEqual([
      expect.objectContaining({ severity: 'FATAL', code: '57014', message: 'canceling authentication due to timeout' }),
    ]);
    expect(fx.logs.join('\n')).toContain('authentication timed out');
  });

  it('leaves a logged-in client alone past the timeout', async () => {
    const client = await connectClient(fx.url);
    await new Promise((r) => setTimeout(r, 600));
    expect((await client.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await client.end();
  });

  it('counts timed-out logins in /metrics', async () => {
    const text = await (await fetch(fx.proxy.metricsUrl!)).text();
    expect(Number(/strata_proxy_clients_refused_total\{reason="auth_timeout"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(2);
  });
});

describe('STRATA_PROXY_MAX_CLIENTS', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ maxClients: 3 });
  });
  afterAll(() => fx.stop());

  it('answers 53300 past the limit, counting clients not yet logged in, and frees a slot when one leaves', async () => {
    const first = await connectClient(fx.url);
    const second = await connectClient(fx.url);
    const unauthenticated = await openRaw(fx.port);

    const extra = new Client({ connectionString: fx.url });
    extra.on('error', () => undefined);
    await expect(extra.connect()).rejects.toMatchObject({ code: '53300', message: 'sorry, too many clients already' });
    // Those inside the limit are untouched.
    expect((await first.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);

    unauthenticated.socket.destroy();
    await until(() => fx.proxy.sessions() === 2);
    const third = await connectClient(fx.url);
    expect((await third.query('SELECT 3 AS ok')).rows).toEqual([{ ok: 3 }]);

    await second.end();
    await until(() => fx.proxy.sessions() === 2);
    const fourth = await connectClient(fx.url);
    expect((await fourth.query('SELECT 4 AS ok')).rows).toEqual([{ ok: 4 }]);
    for (const c of [first, third, fourth]) await c.end();

    const text = await (await fetch(fx.proxy.metricsUrl!)).text();
    expect(Number(/strata_proxy_clients_refused_total\{reason="max_clients"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
  });

  it('closes connections at once when as many again are already waiting to be refused', async () => {
    const inside = await Promise.all([0, 1, 2].map(() => openRaw(fx.port)));
    const waitingForRefusal = await Promise.all([0, 1, 2].map(() => openRaw(fx.port)));
    const beyond = await openRaw(fx.port);
    await beyond.closed;
    expect(beyond.received()).toHaveLength(0);
    expect([...inside, ...waitingForRefusal].filter((c) => c.isClosed())).toHaveLength(0);
    for (const c of [...inside, ...waitingForRefusal]) c.socket.destroy();
    await until(() => fx.proxy.sessions() === 0);
  });
});

describe('configuration of the limits', () => {
  it('defaults to 1000 clients and 60 s, reads the environment and refuses nonsense', () => {
    const defaults = resolveProxyConfig({ backendUrl: adminUrl(), users: { a: 'b' } });
    expect([defaults.maxClients, defaults.authTimeoutMs]).toEqual([1000, 60000]);
    const fromEnv = proxyConfigFromEnv({ STRATA_PG_URL: adminUrl(), STRATA_PROXY_USERS: 'a:b', STRATA_PROXY_MAX_CLIENTS: '50', STRATA_PROXY_AUTH_TIMEOUT_MS: '5000' });
    expect([fromEnv.maxClients, fromEnv.authTimeoutMs]).toEqual([50, 5000]);
    expect(() => resolveProxyConfig({ backendUrl: adminUrl(), users: { a: 'b' }, maxClients: 0 })).toThrow(/max clients must be a positive integer/);
    expect(() => resolveProxyConfig({ backendUrl: adminUrl(), users: { a: 'b' }, authTimeoutMs: 1.5 })).toThrow(/authentication timeout must be a positive integer/);
  });
});
