import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder that loses one answer: the store did the work, the connection dies
 * before the client hears so. The one window no protocol closes, made to happen on cue.
 *   - `postgres`: the CommandComplete of the next COMMIT (the transaction is durable).
 *   - `clickhouse-http`: the response to the next HTTP request naming INSERT (the insert is done).
 */
export interface AnswerDropper {
  via(url: string): string;
  /** Loses the next such answer. */
  arm(): void;
  /** Answers lost so far. */
  readonly dropped: number;
  close(): Promise<void>;
}

export async function startAnswerDropper(kind: 'postgres' | 'clickhouse-http', targetHost: string, targetPort: number): Promise<AnswerDropper> {
  const sockets = new Set<Socket>();
  let armed = false;
  let dropped = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    const cut = () => {
      armed = false;
      dropped++;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    let insertInFlight = false;
    client.on('data', (chunk: Buffer) => {
      if (kind === 'clickhouse-http' && armed && chunk.includes('INSERT')) insertInFlight = true;
      upstream.write(chunk);
    });
    let pending: Buffer = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      if (kind === 'clickhouse-http') {
        // Still armed: two INSERTs in flight at once on two connections drop one answer, not both.
        if (insertInFlight && armed) return cut();
        insertInFlight = false;
        return void client.write(chunk);
      }
      // PostgreSQL backend messages: type byte, int32 length (itself included), payload.
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let at = 0;
      while (pending.length - at >= 5) {
        const end = at + 1 + pending.readInt32BE(at + 1);
        if (end > pending.length) break;
        if (armed && pending[at] === 0x43 && pending.subarray(at + 5, at + 11).toString() === 'COMMIT') {
          client.write(pending.subarray(0, at));
          return cut();
        }
        at = end;
      }
      client.write(pending.subarray(0, at));
      pending = pending.subarray(at);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    via(url: string) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString().replace(/\/$/, '');
    },
    arm() {
      armed = true;
    },
    get dropped() {
      return dropped;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
