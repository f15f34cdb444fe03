// The fuzzer: ≥ 100,000 malformed, truncated, oversized and out-of-order messages,
// split at random TCP boundaries, from many connections, while a well-behaved client
// runs queries on the same proxy. The proxy must keep running, that client must see no
// error, every broken session must end with FATAL 08P01, and memory must stay bounded.
import { connect, type Socket } from 'node:net';
import { Client } from 'pg';
import { wire } from '@strata/proxy';
import { startProxyFixture, type ProxyFixture } from '../support/proxy-fixture';
import { rawLogin } from '../support/proxy-raw-client';

const TARGET_MESSAGES = Number(process.env.STRATA_FUZZ_MESSAGES || 100000);
const MAX_MESSAGE = 64 * 1024;

/** xorshift32: a seeded generator so a failing run can be replayed. */
function rng(seed: number) {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

function frame(type: number, body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out[0] = type;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

type Gen = (r: () => number) => Buffer;
const randomText = (r: () => number, n: number) => Array.from({ length: n }, () => String.fromCharCode(32 + Math.floor(r() * 94))).join('');

/** Well-formed messages in the wrong order or naming things that do not exist: answered, never fatal. */
const OUT_OF_ORDER: Gen[] = [
  () => wire.encodeExecute({ portal: 'no_portal', maxRows: 0 }),
  () => wire.encodeDescribe({ kind: 'P', name: 'no_portal' }),
  () => wire.encodeDescribe({ kind: 'S', name: 'no_statement' }),
  () => wire.encodeClose({ kind: 'S', name: 'nothing' }),
  () => wire.encodeClose({ kind: 'P', name: 'nothing' }),
  () => wire.encodeBind({ portal: '', statement: 'never_parsed', paramFormats: [], params: [], resultFormats: [] }),
  () => wire.encodeBind({ portal: '', statement: '', paramFormats: [], params: [Buffer.from('1'), Buffer.from('2')], resultFormats: [] }),
  (r) => wire.encodeCopyData(Buffer.from(randomText(r, 20))),
  () => wire.COPY_DONE,
  () => wire.encodeCopyFail('no copy running'),
  () => wire.SYNC,
  () => wire.FLUSH,
  (r) => wire.encodeParse({ name: '', sql: `SELEC ${randomText(r, 10)}`, paramTypes: [] }),
  (r) => wire.encodeQuery(randomText(r, 30)),
  () => wire.encodeQuery(''),
  () => wire.encodeQuery('SELECT 1; SELECT 2'),
];

/** Messages that break the protocol: each must end its session with FATAL 08P01. */
const MALFORMED: Gen[] = [
  () => Buffer.from([0x42, 0, 0, 0, 14, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9]), // Bind, parameter runs past the end
  () => frame(0x50, Buffer.from('stmt-without-terminators')),
  () => frame(0x51, Buffer.from('unterminated query')),
  () => frame(0x44, Buffer.from([0x58, 0])), // Describe of kind X
  () => frame(0x53, Buffer.from([1, 2, 3])), // Sync with a body
  () => frame(0x7a, Buffer.alloc(0)), // no such message type
  () => frame(0x70, Buffer.from('password\0')), // PasswordMessage after login
  () => Buffer.from([0x51, 0, 0, 0, 2]), // length below 4
  () => Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff]), // negative length
  () => {
    const b = Buffer.alloc(5);
    b[0] = 0x51;
    b.writeInt32BE(MAX_MESSAGE + 100, 1); // oversized: refused before it is buffered
    return b;
  },
  () => frame(0x42, Buffer.from([0, 0, 0, 1, 0, 7, 0, 0, 0, 0])), // Bind with format code 7
  () => frame(0x45, Buffer.from('portal')), // Execute without row count
];

/** Writes bytes in random slices so messages straddle TCP reads. */
async function writeSplit(socket: Socket, bytes: Buffer, r: () => number): Promise<void> {
  let at = 0;
  while (at < bytes.length && !socket.destroyed) {
    const n = 1 + Math.floor(r() * Math.min(4096, bytes.length - at));
    if (!socket.write(bytes.subarray(at, at + n))) await new Promise((res) => socket.once('drain', res));
    at += n;
  }
}

function collectFatal(socket: Socket): Promise<wire.ErrorFields | null> {
  const reader = new wire.FrameReader(1 << 26);
  let fatal: wire.ErrorFields | null = null;
  socket.on('data', (chunk: Buffer) =>
    reader.push(chunk, (type, f) => {
      if (type === wire.Backend.errorResponse) {
        const e = wire.decodeErrorResponse(f);
        if (e.severity === 'FATAL') fatal = e;
      }
    }),
  );
  return new Promise((resolve) => {
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(fatal));
  });
}

describe('fuzzer', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxyFixture({ maxMessageSize: MAX_MESSAGE, poolSize: 8 });
  });
  afterAll(() => fx.stop());

  it(`survives ${TARGET_MESSAGES} hostile messages while a good client sees no error`, async () => {
    const good = new Client({ connectionString: fx.url });
    await good.connect();
    let goodQueries = 0;
    const goodErrors: unknown[] = [];
    let fuzzing = true;
    const goodLoop = (async () => {
      while (fuzzing) {
        try {
          const r = await good.query('SELECT $1::int + 1 AS v', [goodQueries]);
          if (r.rows[0].v !== goodQueries + 1) goodErrors.push(new Error('wrong answer'));
          const s = (await good.query('SELECT 1 AS a; SELECT 2 AS b')) as unknown as Array<{ rows: Array<Record<string, number>> }>;
          if (s[1].rows[0].b !== 2) goodErrors.push(new Error('wrong answer'));
          goodQueries++;
        } catch (error) {
          goodErrors.push(error);
        }
      }
    })();

    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 50);

    let sent = 0;
    let sessions = 0;
    let fatals = 0;
    const wrongEnds: string[] = [];
    const r = rng(20261126);
    const concurrency = 8;
    const worker = async (): Promise<void> => {
      while (sent < TARGET_MESSAGES) {
        const socket = await rawLogin(fx.port, fx.db.name);
        const ended = collectFatal(socket);
        sessions++;
        const count = 300 + Math.floor(r() * 700);
        const parts: Buffer[] = [];
        for (let i = 0; i < count; i++) parts.push(OUT_OF_ORDER[Math.floor(r() * OUT_OF_ORDER.length)](r));
        parts.push(wire.SYNC, MALFORMED[Math.floor(r() * MALFORMED.length)](r));
        sent += parts.length;
        await writeSplit(socket, Buffer.concat(parts), r);
        const fatal = await Promise.race([ended, new Promise<'timeout'>((res) => setTimeout(res, Number(process.env.STRATA_FUZZ_WAIT || 30000), 'timeout'))]);
        if (fatal === 'timeout') {
          wrongEnds.push(`no close within 30 s: ${JSON.stringify(fx.proxy.sessionStates())}`);
          socket.destroy();
        } else if (fatal?.code === '08P01') fatals++;
        else wrongEnds.push(`ended with ${fatal?.code ?? 'no error'}`);
      }
    };
    // Garbage before and during startup, on connections of their own.
    const startupJunk = async () => {
      for (let i = 0; i < 200; i++) {
        const socket = connect(fx.port, '127.0.0.1');
        await new Promise((res) => socket.once('connect', res));
        const ended = collectFatal(socket);
        const junk = Buffer.alloc(8 + Math.floor(r() * 64));
        for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(r() * 256);
        if (i % 2) junk.writeInt32BE(junk.length, 0);
        socket.write(junk);
        sent++;
        await Promise.race([ended, new Promise((res) => setTimeout(res, 2000))]);
        socket.destroy();
      }
    };
    await Promise.all([...Array.from({ length: concurrency }, worker), startupJunk()]);
    fuzzing = false;
    await goodLoop;
    clearInterval(sampler);
    await good.end();

    expect(sent).toBeGreaterThanOrEqual(TARGET_MESSAGES);
    expect(wrongEnds).toEqual([]);
    expect(fatals).toBe(sessions);
    expect(goodErrors).toEqual([]);
    expect(goodQueries).toBeGreaterThan(10);
    // Bounded: hostile input must not accumulate (buffers are per message and capped).
    expect(peak - baseline).toBeLessThan(256 * 1024 * 1024);
    // The proxy still serves new clients.
    const after = new Client({ connectionString: fx.url });
    await after.connect();
    expect((await after.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await after.end();
    console.log(JSON.stringify({ fuzz: { messages: sent, sessions, goodQueries, heapGrowthMB: Math.round((peak - baseline) / 1048576) } }));
  }, 600000);
});
