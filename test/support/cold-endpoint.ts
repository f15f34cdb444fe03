import { repoPath } from './paths';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

const SERVER_SCRIPT = repoPath('test', 'support', 'chdb-http-server.js');
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export interface ChdbHttpServerOptions {
  /** chDB data directory; a fresh temporary one (removed on stop) when omitted. */
  dataDir?: string;
  user?: string;
  password?: string;
}

export interface ChdbHttpServer {
  url: string;
  port: number;
  dataDir: string;
  /** SIGTERM, wait for exit (SIGKILL after 10 s); removes the data dir if this helper made it. */
  stop(): Promise<void>;
  /** Signal the endpoint without waiting, e.g. SIGKILL to simulate a crash. */
  kill(signal?: NodeJS.Signals): void;
}

/** Starts test/support/chdb-http-server.js as a child process; resolves once it listens. */
export async function startChdbHttpServer(options: ChdbHttpServerOptions = {}): Promise<ChdbHttpServer> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'strata-chdb-http-'));
  const args = [SERVER_SCRIPT, '--port', '0', '--path', dataDir, '--watch-stdin'];
  if (options.user !== undefined) args.push('--user', options.user);
  if (options.password !== undefined) args.push('--password', options.password);
  // stdin stays a pipe: the endpoint exits when it closes, i.e. when this process dies.
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let port: number;
  try {
    port = await waitForListening(child, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }

  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(timer);
        }
        child.stdin.destroy();
        if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
      })();
      return stopped;
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      child.kill(signal);
    },
  };
}

function waitForListening(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const fail = (why: string) => {
      clearTimeout(timer);
      lines.close();
      reject(new Error(`chdb-http-server ${why}; stderr:\n${stderr()}`));
    };
    const timer = setTimeout(() => fail(`did not report listening within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(`exited before listening (code ${code}, signal ${signal})`);
    child.once('exit', onExit);
    lines.on('line', (line) => {
      const match = /^listening (\d+)$/.exec(line.trim());
      if (!match) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(Number(match[1]));
    });
  });
}

const EMBEDDED_DIR_PREFIX = 'strata-chdb-embedded-';

/**
 * chDB's data directory for this jest worker. The engine binds one directory per
 * process and jest runs many test files in one worker process, so every test file in
 * a worker must use the same path: it is keyed by pid (and worker id, for reading).
 * Directories left by workers that have exited are removed.
 */
export function embeddedColdStorePath(): string {
  removeDirsOfDeadWorkers();
  return join(tmpdir(), `${EMBEDDED_DIR_PREFIX}${process.pid}-w${process.env.JEST_WORKER_ID ?? '0'}`);
}

function removeDirsOfDeadWorkers(): void {
  for (const name of readdirSync(tmpdir())) {
    const match = new RegExp(`^${EMBEDDED_DIR_PREFIX}(\\d+)-w`).exec(name);
    if (!match || Number(match[1]) === process.pid || isAlive(Number(match[1]))) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What a proxied connection suffers: nothing, a reset on connect, or a reset instead of the response. */
export type ProxyFault = 'none' | 'reset-on-connect' | 'reset-instead-of-response';

export interface TcpProxy {
  url: string;
  port: number;
  /** Bytes each accepted connection sent towards the endpoint (first 64 KiB). */
  readonly sent: Buffer[];
  /** Bytes the endpoint sent back on each connection (first 64 KiB), faults included. */
  readonly received: Buffer[];
  /** How many connections suffered a fault. */
  readonly faults: number;
  close(): Promise<void>;
}

const CAPTURE_LIMIT = 64 * 1024;

/**
 * A TCP proxy in front of an endpoint that records traffic and injects faults per
 * connection (by 0-based accept order): the network failures HttpColdStore retries.
 */
export async function startTcpProxy(targetPort: number, faultFor: (connection: number) => ProxyFault = () => 'none'): Promise<TcpProxy> {
  const sent: Buffer[] = [];
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  let faults = 0;
  const capture = (into: Buffer[], index: number, chunk: Buffer) => {
    if (into[index].length < CAPTURE_LIMIT) into[index] = Buffer.concat([into[index], chunk]).subarray(0, CAPTURE_LIMIT);
  };
  const server = createServer((client) => {
    const index = sent.length;
    sent.push(Buffer.alloc(0));
    received.push(Buffer.alloc(0));
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    const fault = faultFor(index);
    if (fault === 'reset-on-connect') {
      faults++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      capture(sent, index, chunk);
      upstream.write(chunk);
    });
    client.on('end', () => upstream.end());
    client.on('close', () => upstream.destroy());
    upstream.on('data', (chunk: Buffer) => {
      if (fault === 'reset-instead-of-response') {
        // The endpoint has finished the request (it answers only when done); the client never hears.
        faults++;
        upstream.destroy();
        client.resetAndDestroy();
        return;
      }
      capture(received, index, chunk);
      client.write(chunk);
    });
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    sent,
    received,
    get faults() {
      return faults;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
