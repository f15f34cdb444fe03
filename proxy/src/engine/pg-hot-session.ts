import type { EventEmitter } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { HotSession, TxStatus } from './hot-session';
import { describeStatement, openPortal, runStatement } from './pg-extended-query';

/**
 * A HotSession over a node-postgres client, for callers without a client wire: tests, the
 * in-process corpus run, the gateway's /v1/sql. The transaction status is PostgreSQL's
 * own, from each ReadyForQuery on the client's connection (`inTransaction`: until the
 * first one arrives); `detach()` stops listening when the session is done with.
 */
export function pgHotSession(client: ClientBase, inTransaction = false): HotSession & { detach(): void } {
  let status: TxStatus = inTransaction ? 'T' : 'I';
  const connection = (client as unknown as { connection?: EventEmitter }).connection;
  const onReady = (msg: { status?: string }) => {
    if (msg.status === 'I' || msg.status === 'T' || msg.status === 'E') status = msg.status;
  };
  connection?.on('readyForQuery', onReady);
  return {
    status: () => status,
    query: (sql, params = [], paramTypes = []) => runStatement(client, sql, [...params], [...paramTypes]),
    describe: (sql, paramTypes) => describeStatement(client, sql, [...paramTypes]),
    openPortal: (sql, params, paramTypes, pageRows) => openPortal(client, sql, [...params], [...paramTypes], pageRows),
    async copyIn(sql: string, source: Readable): Promise<number> {
      const sink = client.query(copyFrom(sql));
      await pipeline(source, sink);
      return sink.rowCount;
    },
    detach: () => connection?.off('readyForQuery', onReady),
  };
}
