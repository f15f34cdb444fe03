import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { HotSession, TxStatus } from './hot-session';
import { describeStatement, openPortal, runStatement } from './pg-extended-query';

/**
 * A HotSession over a node-postgres client, for callers without a client wire: tests, the
 * in-process corpus run, the gateway's /v1/sql. node-postgres does not report the
 * transaction status, so the caller says whether its client is inside a transaction block.
 */
export function pgHotSession(client: ClientBase, inTransaction = false): HotSession {
  return {
    status: (): TxStatus => (inTransaction ? 'T' : 'I'),
    query: (sql, params = [], paramTypes = []) => runStatement(client, sql, [...params], [...paramTypes]),
    describe: (sql, paramTypes) => describeStatement(client, sql, [...paramTypes]),
    openPortal: (sql, params, paramTypes, pageRows) => openPortal(client, sql, [...params], [...paramTypes], pageRows),
    async copyIn(sql: string, source: Readable): Promise<number> {
      const sink = client.query(copyFrom(sql));
      await pipeline(source, sink);
      return sink.rowCount;
    },
  };
}
