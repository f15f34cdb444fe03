import type { Socket } from 'node:net';
import { Client } from 'pg';
import { runTiering } from '@strata/core';
import { wire } from '@strata/proxy';
import type { RunningTieredProxy } from '../../proxy/src/tiered-proxy';
import { rawLogin } from '../support/proxy-raw-client';
import { tiererDeps, type TieredFixture } from '../support/tiered-fixture';
import { startObservabilityBed, type ObservabilityBed } from './observability-bed';

/**
 * Vector's `postgres` sink (issue 17, item 2) pointed at the proxy, byte for byte: the
 * messages sqlx sends for it (Vector's src/sinks/postgres/service.rs runs
 * `sqlx::query("INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, $1)")
 * .bind(Json(events)).execute(&pool)` per batch, autocommit, no transaction block; its
 * healthcheck is `sqlx::query("SELECT 1")`):
 * - login with sqlx's startup parameters (DateStyle, client_encoding, TimeZone, extra_float_digits);
 * - a pooled connection's liveness check before reuse: a lone Sync;
 * - the first use of a statement on a connection: Parse into a named statement
 *   (`sqlx_s_<n>`, parameter type jsonb for Json<T>), Describe of that statement, Sync;
 * - every execution: Bind of the unnamed portal (parameters and results in binary; jsonb's
 *   binary form is a version byte 1 and the JSON text), Execute with no row limit, Close of
 *   the unnamed portal, Sync; later batches on the connection reuse the named statement.
 * The rows land in PostgreSQL (hot-then-cold table), a batch with a bad event is refused
 * whole with PostgreSQL's SQLSTATE and the connection stays usable, and everything reads
 * back through the proxy across the watermark.
 */
const PASSWORD = 'vector-sink-secret';
const W = '2026-01-04T13:37:00Z';
const TABLE = 'observability_events';
const INSERT = `INSERT INTO ${TABLE} SELECT * FROM jsonb_populate_recordset(NULL::${TABLE}, $1)`;
const JSONB = 3802;
const SQLX_STARTUP = { DateStyle: 'ISO, MDY', client_encoding: 'UTF8', TimeZone: 'UTC', extra_float_digits: '2' };

interface Reply {
  type: string;
  tag?: string;
  code?: string;
  message?: string;
  params?: number[];
  status?: string;
}

/** Writes `frames` at once and collects the replies up to the `syncs`-th ReadyForQuery. */
function exchange(socket: Socket, frames: Buffer[], syncs = 1): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const reader = new wire.FrameReader(1 << 24);
    const replies: Reply[] = [];
    let ready = 0;
    const onData = (chunk: Buffer) => {
      reader.push(chunk, (type, frame) => {
        const t = String.fromCharCode(type);
        if (type === wire.Backend.errorResponse) {
          const e = wire.decodeErrorResponse(frame);
          replies.push({ type: t, code: e.code, message: e.message });
        } else if (type === wire.Backend.commandComplete) replies.push({ type: t, tag: wire.decodeCommandComplete(frame) });
        else if (type === wire.Backend.parameterDescription) replies.push({ type: t, params: wire.decodeParameterDescription(frame) });
        else if (type === wire.Backend.readyForQuery) {
          replies.push({ type: t, status: wire.decodeReadyForQuery(frame) });
          if (++ready === syncs) {
            socket.off('data', onData);
            socket.off('error', reject);
            resolve(replies);
          }
        } else if (type !== wire.Backend.noticeResponse && type !== wire.Backend.parameterStatus) replies.push({ type: t });
      });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(Buffer.concat(frames));
  });
}

/** Json<T>'s binary encoding in sqlx-postgres: jsonb version 1, then the JSON text. */
const jsonbBinary = (value: unknown) => Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(value), 'utf8')]);

const prepare = (name: string, sql: string, paramTypes: number[]) => [
  wire.encodeParse({ name, sql, paramTypes }),
  wire.encodeDescribe({ kind: 'S', name }),
  wire.SYNC,
];
const execute = (statement: string, params: Buffer[]) => [
  wire.encodeBind({ portal: '', statement, paramFormats: [1], params, resultFormats: [1] }),
  wire.encodeExecute({ portal: '', maxRows: 0 }),
  wire.encodeClose({ kind: 'P', name: '' }),
  wire.SYNC,
];

/** A journald event as examples/vector/vector.toml shapes it for the sink (Vector prints nanoseconds). */
function journaldEvent(at: string, node: string | null, message: string): Record<string, unknown> {
  return {
    event_time: at,
    node,
    source_type: 'journald',
    message,
    raw: { message, host: node, timestamp: at, source_type: 'journald', source: 'journald', _SYSTEMD_UNIT: 'sshd.service', structured: { via: 'vector' } },
  };
}

describe("Vector's postgres sink through the proxy", () => {
  let bed: ObservabilityBed;
  let fx: TieredFixture;
  let proxy: RunningTieredProxy;
  let database: string;
  const url = () => bed.url;

  async function query(sql: string): Promise<Array<Record<string, string>>> {
    const c = new Client({ connectionString: url() });
    await c.connect();
    try {
      return (await c.query({ text: sql, types: { getTypeParser: () => (v: string) => v } })).rows;
    } finally {
      await c.end();
    }
  }

  beforeAll(async () => {
    // Two servers for Vector's five connections: its same-named statements meet on shared servers.
    bed = await startObservabilityBed('vector', PASSWORD, { tierTo: W, poolSize: 2 });
    ({ fx, proxy, database } = bed);
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  it('takes the statements sqlx sends for the sink, batch after batch, on one connection', async () => {
    const before = Number((await query(`SELECT count(*) AS n FROM ${TABLE}`))[0].n);
    expect(before).toBe(33600);
    const socket = await rawLogin(proxy.port, database, 'vector', PASSWORD, SQLX_STARTUP);
    try {
      // The pool's liveness check, then the healthcheck (a prepared SELECT 1).
      expect(await exchange(socket, [wire.SYNC])).toEqual([{ type: 'Z', status: 'I' }]);
      expect(await exchange(socket, prepare('sqlx_s_1', 'SELECT 1', []))).toEqual([{ type: '1' }, { type: 't', params: [] }, { type: 'T' }, { type: 'Z', status: 'I' }]);
      expect(await exchange(socket, execute('sqlx_s_1', []))).toEqual([{ type: '2' }, { type: 'D' }, { type: 'C', tag: 'SELECT 1' }, { type: '3' }, { type: 'Z', status: 'I' }]);

      // First batch: prepare, then execute; hot rows and one late row below W.
      expect(await exchange(socket, prepare('sqlx_s_2', INSERT, [JSONB]))).toEqual([{ type: '1' }, { type: 't', params: [JSONB] }, { type: 'n' }, { type: 'Z', status: 'I' }]);
      const first = [
        journaldEvent('2026-01-06T10:00:00.123456789Z', 'vector-node', 'Accepted publickey for ops'),
        journaldEvent('2026-01-06T10:00:01.5Z', 'vector-node', 'Failed password for root'),
        journaldEvent('2026-01-06T10:00:02Z', null, 'no host on this event'),
        journaldEvent('2026-01-04T13:00:00.25Z', 'vector-node', 'late: below the watermark'),
      ];
      expect(await exchange(socket, execute('sqlx_s_2', [jsonbBinary(first)]))).toEqual([{ type: '2' }, { type: 'C', tag: 'INSERT 0 4' }, { type: '3' }, { type: 'Z', status: 'I' }]);

      // A later batch reuses the named statement: Bind/Execute/Close/Sync only.
      const second = [journaldEvent('2026-01-06T10:01:00Z', 'vector-node', 'Accepted publickey for ops')];
      expect(await exchange(socket, execute('sqlx_s_2', [jsonbBinary(second)]))).toEqual([{ type: '2' }, { type: 'C', tag: 'INSERT 0 1' }, { type: '3' }, { type: 'Z', status: 'I' }]);

      // An event without a time fails the whole batch with PostgreSQL's error; nothing of it is written.
      const bad = [journaldEvent('2026-01-06T10:02:00Z', 'vector-node', 'would be written'), { ...journaldEvent('2026-01-06T10:02:01Z', 'vector-node', 'x'), event_time: null }];
      const refused = await exchange(socket, execute('sqlx_s_2', [jsonbBinary(bad)]));
      expect(refused.map((r) => r.type)).toEqual(['2', 'E', 'Z']);
      expect(refused[1]).toMatchObject({ code: '23502' });
      expect(refused[2]).toEqual({ type: 'Z', status: 'I' });

      // The connection is still good for the next batch.
      const third = [journaldEvent('2026-01-06T10:03:00Z', 'vector-node', 'after the refused batch')];
      expect(await exchange(socket, execute('sqlx_s_2', [jsonbBinary(third)]))).toEqual([{ type: '2' }, { type: 'C', tag: 'INSERT 0 1' }, { type: '3' }, { type: 'Z', status: 'I' }]);
    } finally {
      socket.end(wire.TERMINATE);
    }

    const mine = await query(`SELECT event_time, node, source_type, message, raw->>'source' AS source, raw->'structured'->>'via' AS via FROM ${TABLE} WHERE message IS NOT NULL AND raw->'structured'->>'via' = 'vector' ORDER BY event_time`);
    expect(mine).toEqual([
      { event_time: '2026-01-04 13:00:00.25+00', node: 'vector-node', source_type: 'journald', message: 'late: below the watermark', source: 'journald', via: 'vector' },
      { event_time: '2026-01-06 10:00:00.123457+00', node: 'vector-node', source_type: 'journald', message: 'Accepted publickey for ops', source: 'journald', via: 'vector' },
      { event_time: '2026-01-06 10:00:01.5+00', node: 'vector-node', source_type: 'journald', message: 'Failed password for root', source: 'journald', via: 'vector' },
      { event_time: '2026-01-06 10:00:02+00', node: null as unknown as string, source_type: 'journald', message: 'no host on this event', source: 'journald', via: 'vector' },
      { event_time: '2026-01-06 10:01:00+00', node: 'vector-node', source_type: 'journald', message: 'Accepted publickey for ops', source: 'journald', via: 'vector' },
      { event_time: '2026-01-06 10:03:00+00', node: 'vector-node', source_type: 'journald', message: 'after the refused batch', source: 'journald', via: 'vector' },
    ]);
    expect(Number((await query(`SELECT count(*) AS n FROM ${TABLE}`))[0].n)).toBe(before + 6);

    // The late row moves to ClickHouse with the next run and is still counted once.
    await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: TABLE, until: new Date('2026-01-05T00:00:00Z') });
    expect(Number((await query(`SELECT count(*) AS n FROM ${TABLE}`))[0].n)).toBe(before + 6);
    expect(await query(`SELECT message FROM ${TABLE} WHERE event_time < '${W}' AND node = 'vector-node'`)).toEqual([{ message: 'late: below the watermark' }]);
  });

  it("takes Vector's pool: five connections preparing the same statement names at once, batch after batch", async () => {
    // Vector's default pool_size is 5; each sqlx connection names its statements sqlx_s_1, sqlx_s_2, … on its own.
    const before = Number((await query(`SELECT count(*) AS n FROM ${TABLE} WHERE node LIKE 'pool-%'`))[0].n);
    expect(before).toBe(0);
    await Promise.all(
      [0, 1, 2, 3, 4].map(async (k) => {
        const socket = await rawLogin(proxy.port, database, 'vector', PASSWORD, SQLX_STARTUP);
        try {
          expect(await exchange(socket, prepare('sqlx_s_1', INSERT, [JSONB]))).toEqual([{ type: '1' }, { type: 't', params: [JSONB] }, { type: 'n' }, { type: 'Z', status: 'I' }]);
          for (let b = 0; b < 6; b++) {
            const events = [0, 1, 2].map((i) => journaldEvent(`2026-01-06T12:${String(b * 3 + i).padStart(2, '0')}:0${k}Z`, `pool-${k}`, `batch ${b} event ${i}`));
            expect(await exchange(socket, execute('sqlx_s_1', [jsonbBinary(events)]))).toEqual([{ type: '2' }, { type: 'C', tag: 'INSERT 0 3' }, { type: '3' }, { type: 'Z', status: 'I' }]);
          }
        } finally {
          socket.end(wire.TERMINATE);
        }
      }),
    );
    const perNode = await query(`SELECT node, count(*) AS n FROM ${TABLE} WHERE node LIKE 'pool-%' GROUP BY node ORDER BY node`);
    expect(perNode).toEqual([0, 1, 2, 3, 4].map((k) => ({ node: `pool-${k}`, n: '18' })));
  });

  it('takes the same statement from a driver: node-postgres with a named prepared statement', async () => {
    const c = new Client({ connectionString: url() });
    await c.connect();
    try {
      const events = [journaldEvent('2026-01-06T11:00:00Z', 'pg-driver-node', 'named statement, first'), journaldEvent('2026-01-06T11:00:01Z', 'pg-driver-node', 'named statement, second')];
      const r1 = await c.query({ name: 'sqlx_s_1', text: INSERT, values: [JSON.stringify(events)] });
      expect(r1.rowCount).toBe(2);
      const r2 = await c.query({ name: 'sqlx_s_1', text: INSERT, values: [JSON.stringify([journaldEvent('2026-01-06T11:00:02Z', 'pg-driver-node', 'named statement, again')])] });
      expect(r2.rowCount).toBe(1);
    } finally {
      await c.end();
    }
    const rows = await query(`SELECT time_bucket('1 minute', event_time) AS ts, count(*) FROM ${TABLE} WHERE node = 'pg-driver-node' AND raw->>'source' = 'journald' AND event_time BETWEEN '2026-01-06T00:00:00Z' AND '2026-01-07T00:00:00Z' GROUP BY ts ORDER BY ts`);
    expect(rows).toEqual([{ ts: '2026-01-06 11:00:00+00', count: '3' }]);
  });
});
