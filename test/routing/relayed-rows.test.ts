import type { Socket } from 'node:net';
import { runTiering } from '@strata/core';
import { wire } from '@strata/proxy';
import { rawLogin } from '../support/proxy-raw-client';
import { loadDataset, metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';
import { closeRollupBed, startRollupProxy, startRollupReference, type RollupProxy, type RollupReference } from './rollup-proxy-bed';

/**
 * The rows of an engine-answered SELECT reach the client as PostgreSQL's own DataRow
 * messages, relayed unchanged where the client reads the whole answer in text
 * (frontend/engine-runner.ts relayRows), and re-encoded otherwise (binary results, an
 * Execute row limit). On the wire, byte for byte, each way gives what PostgreSQL holding
 * every row gives for the same messages: the same DataRows, the same PortalSuspended and
 * CommandComplete — under an Execute row limit PostgreSQL's tag counts the last Execute's
 * rows only (`SELECT 60` after 70 + 70 of 200), which the proxy's said `SELECT 200` until
 * this test.
 */
const W = '2026-01-01T12:00:00Z';

/** NULL, NaN, ±Infinity, -0, non-ASCII and a tab in text: every kind of value a DataRow carries. */
const EXTRA_ROWS = `INSERT INTO metrics_events (time, app, host, value, level, labels) VALUES
  ('2026-01-01 03:00:00.5+00', 'zürich-ü', NULL, 'NaN', 'in\tfo', '{"a": "b"}'),
  ('2026-01-01 03:00:01+00', 'api', 'h1', '-Infinity', NULL, NULL),
  ('2026-01-01 13:00:01+00', 'api', 'h1', '-0', 'warn', '{}')`;

const SQL = `SELECT time, app, host, value, level, labels FROM metrics_events WHERE time >= '2026-01-01T02:59:00Z' AND time < '2026-01-01T13:01:00Z' ORDER BY time, app, host LIMIT 200`;

interface Reply {
  type: number;
  frame: Buffer;
}

/** Sends `messages` and collects every reply up to ReadyForQuery. */
function exchange(socket: Socket, messages: Buffer[]): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const reader = new wire.FrameReader(1 << 24);
    const replies: Reply[] = [];
    const onData = (chunk: Buffer) => {
      reader.push(chunk, (type, frame) => {
        replies.push({ type, frame: Buffer.from(frame) });
        if (type === wire.Backend.readyForQuery) {
          socket.off('data', onData);
          resolve(replies);
        }
      });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(Buffer.concat(messages));
  });
}

/** Parse, Bind (result formats), Execute with `maxRows` until the portal completes, Sync. */
function extended(resultFormats: number[], maxRows: number, executes: number): Buffer[] {
  return [
    wire.encodeParse({ name: '', sql: SQL, paramTypes: [] }),
    wire.encodeBind({ portal: '', statement: '', paramFormats: [], params: [], resultFormats }),
    ...Array.from({ length: executes }, () => wire.encodeExecute({ portal: '', maxRows })),
    wire.SYNC,
  ];
}

/** What a client sees of the rows: every DataRow, PortalSuspended and CommandComplete, in order. */
const rowsOf = (replies: Reply[]) =>
  replies.filter((r) => ([wire.Backend.dataRow, wire.Backend.portalSuspended, wire.Backend.commandComplete] as number[]).includes(r.type)).map((r) => r.frame.toString('hex'));

jest.setTimeout(60_000);

describe('an engine answer’s rows on the wire', () => {
  let fx: TieredFixture;
  let reference: RollupReference;
  let bed: RollupProxy;
  let viaProxy: Socket;
  let direct: Socket;

  beforeAll(async () => {
    fx = await tieredFixture(metricsSpec());
    reference = await startRollupReference('strata_relayed_rows_ref', 1440);
    await loadDataset(fx.hot, 'metrics_events', { toMinute: 1440 }, fx.spec);
    for (const c of [fx.hot, reference.direct]) await c.query(EXTRA_ROWS);
    await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: 'metrics_events', until: new Date(W) });
    bed = await startRollupProxy(fx);
    viaProxy = await rawLogin(bed.port, new URL(fx.pgUrl).pathname.slice(1), 'postgres', bed.password);
    const ref = new URL(reference.url);
    direct = await rawLogin(Number(ref.port), ref.pathname.slice(1), 'postgres', '');
    for (const s of [viaProxy, direct]) await exchange(s, [wire.encodeQuery("SET TimeZone = 'UTC'")]);
  }, 180_000);

  afterAll(async () => {
    viaProxy?.destroy();
    direct?.destroy();
    await closeRollupBed(bed, fx, reference);
  });

  it.each([
    ['a simple query', [wire.encodeQuery(SQL)]],
    ['extended, text, the whole answer (relayed)', extended([], 0, 1)],
    ['extended, text for every column by one format code', extended([0], 0, 1)],
    ['extended, binary results (re-encoded)', extended([1], 0, 1)],
    ['extended, text, 70 rows an Execute (re-encoded, suspended twice)', extended([], 70, 3)],
  ])('%s: the same DataRows as PostgreSQL', async (_name, messages) => {
    const expected = rowsOf(await exchange(direct, messages as Buffer[]));
    const actual = rowsOf(await exchange(viaProxy, messages as Buffer[]));
    expect(expected.length).toBeGreaterThan(150);
    expect(actual).toEqual(expected);
    expect(await bed.explain(SQL)).toMatch('Strata route: split');
  });
});
