import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePort } from './ports';

/**
 * A NATS server with JetStream for the buffer suites: the machine's (127.0.0.1:4222, or
 * STRATA_TEST_NATS_URL) when one answers, else one started here from Debian's
 * nats-server on a free port with a throwaway store (scripts/deps/nats.sh installs it).
 * Suites share the machine's server: each names its own streams (`uniqueStreamName`).
 */
export interface NatsTestServer {
  url: string;
  /** Deletes the streams named here (those left behind by the suite) and stops a server started here. */
  stop(streams?: string[]): Promise<void>;
}

const MACHINE_URL = process.env.STRATA_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const NATS_SERVER = '/usr/sbin/nats-server';

function answers(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = tcpConnect(Number(u.port || 4222), u.hostname);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startNatsServer(): Promise<NatsTestServer> {
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  let url = MACHINE_URL;
  if (!(await answers(url))) {
    if (!existsSync(NATS_SERVER)) throw new Error(`no NATS server at ${url} and no ${NATS_SERVER}: run scripts/deps/nats.sh`);
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'strata-nats-'));
    child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
    url = `nats://127.0.0.1:${port}`;
    for (let i = 0; i < 80 && !(await answers(url)); i++) await new Promise((r) => setTimeout(r, 100));
    if (!(await answers(url))) throw new Error('nats-server did not start');
  }
  return {
    url,
    async stop(streams = []) {
      if (streams.length > 0 && !child) {
        const nc = await connect({ servers: url });
        const jsm = await jetstreamManager(nc);
        for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
        await nc.close();
      }
      if (child) {
        child.kill('SIGTERM');
        await new Promise((r) => child!.once('exit', r));
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function uniqueStreamName(prefix: string): string {
  return `${prefix}_${process.pid.toString(36)}_${Date.now().toString(36)}`.toUpperCase();
}
