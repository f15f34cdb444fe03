// A client that breaks the protocol loses only its own session, with a FATAL 08P01.
import { connect, type Socket } from 'node:net';
import { Client } from 'pg';
import { wire } from '@strata/proxy';
import { startProxyFixture, PROXY_USER, type ProxyFixture } from '../support/proxy-fixture';
import { rawLogin } from '../support/proxy-raw-client';

describe('malformed and oversized messages', () => {
  let fx: ProxyFixture;
  let good: Client;
  beforeAll(async () => {
    fx = await startProxyFixture({ maxMessageSize: 4096 });
    good = new Client({ connectionString: fx.url });
    await good.connect();
  });
  afterAll(async () => {
    await good.end();
    await fx.stop();
  });

  async function fatalAfter(bytes: Buffer, login = true): Promise<wire.ErrorFields> {
    const socket: Socket = login ? await rawLogin(fx.port, fx.db.name) : connect(fx.port, '127.0.0.1');
    if (!login) await new Promise((r) => socket.once('connect', r));
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    const closed = new Promise((r) => socket.once('close', r));
    socket.on('error', () => undefined);
    socket.write(bytes);
    await closed;
    let error: wire.ErrorFields | null = null;
    new wire.FrameReader(1 << 20).push(Buffer.concat(received), (type, frame) => {
      if (type === wire.Backend.errorResponse) error = wire.decodeErrorResponse(frame);
    });
    expect(error).not.toBeNull();
    return error!;
  }

  it.each([
    ['an oversized message', Buffer.concat([Buffer.from([0x51]), Buffer.from([0, 0, 0x40, 0])])],
    ['a negative length', Buffer.from([0x51, 0xff, 0xff, 0xff, 0xf0])],
    ['an unknown message type', Buffer.from([0x7a, 0, 0, 0, 4])],
    ['a Bind with a truncated parameter', Buffer.from([0x42, 0, 0, 0, 14, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9])],
    ['a Query without terminator', Buffer.from([0x51, 0, 0, 0, 6, 0x41, 0x42])],
  ])('ends the session on %s with FATAL 08P01', async (_name, bytes) => {
    const error = await fatalAfter(bytes);
    expect(error).toMatchObject({ severity: 'FATAL', code: '08P01' });
    // The well-behaved client sharing the proxy sees nothing.
    expect((await good.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('names the limit when a message is too large', async () => {
    const error = await fatalAfter(wire.encodeQuery(`SELECT '${'x'.repeat(5000)}'`));
    expect(error.message).toMatch(/exceeds the limit of 4096/);
  });

  it('refuses a broken startup packet', async () => {
    const error = await fatalAfter(Buffer.from([0, 0, 0, 3, 0, 0, 0, 0]), false);
    expect(error).toMatchObject({ severity: 'FATAL', code: '08P01' });
  });

  it('refuses an unsupported protocol version', async () => {
    const packet = Buffer.from([0, 0, 0, 8, 0, 2, 0, 0]);
    const error = await fatalAfter(packet, false);
    expect(error.message).toMatch(/unsupported frontend protocol/);
  });

  it('counts protocol errors in /metrics', async () => {
    const text = await (await fetch(fx.proxy.metricsUrl!)).text();
    expect(text).toMatch(/strata_proxy_protocol_errors_total \d+/);
    expect(Number(/strata_proxy_protocol_errors_total (\d+)/.exec(text)![1])).toBeGreaterThanOrEqual(7);
    expect(PROXY_USER).toBeTruthy();
  });
});
