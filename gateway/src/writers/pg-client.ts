import type { Pool, PoolClient } from 'pg';
import { StoreUnavailableError } from '../errors';

/**
 * One unit of work on a pooled PostgreSQL connection. An unreachable PostgreSQL is a
 * StoreUnavailableError (503). A connection that emitted an error — a socket error
 * outside a query's own lifetime is emitted on the client, and without a listener would
 * take the process down — or that `work` reports through `discard` is destroyed rather
 * than returned to the pool.
 */
export async function withPgClient<T>(pool: Pool, work: (client: PoolClient, discard: (reason: Error) => void) => Promise<T>): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw new StoreUnavailableError('postgresql', { cause: err });
  }
  let broken: Error | undefined;
  const discard = (reason: Error) => {
    broken ??= reason;
  };
  client.on('error', discard);
  try {
    return await work(client, discard);
  } finally {
    client.off('error', discard);
    client.release(broken);
  }
}
