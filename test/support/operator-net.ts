// A TCP forwarder whose target can be switched off and on: a network outage between
// the operator and a real database (PostgreSQL, the chDB endpoint) without stopping it.
import { connect, createServer, type Socket } from 'node:net';

export interface SwitchableProxy {
  port: number;
  /** null: refuse new connections and cut open ones. */
  setTarget(port: number | null): void;
  close(): Promise<void>;
}

export async function startSwitchableProxy(targetPort: number | null): Promise<SwitchableProxy> {
  let target = targetPort;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (target === null) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    setTarget(p) {
      target = p;
      if (p === null) for (const s of sockets) s.destroy();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
