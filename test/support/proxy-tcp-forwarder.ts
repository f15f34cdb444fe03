// A TCP forwarder standing in front of PostgreSQL so a test can "kill the database"
// (drop every connection and refuse new ones) and bring it back on the same port,
// without touching the PostgreSQL server other suites share.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Forwarder {
  port: number;
  /** Drops every connection and stops listening: PostgreSQL looks dead. */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  revive(): Promise<void>;
  stop(): Promise<void>;
}

export async function startForwarder(targetPort: number, targetHost = '127.0.0.1'): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, targetHost);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (server) server.close(() => resolve());
      else resolve();
      server = null;
    });
  await listen();
  return { port, kill: close, revive: listen, stop: close };
}
