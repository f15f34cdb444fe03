import { freePort } from './ports';
// A throwaway PostgreSQL 15 server of our own (Debian's binaries, a temp data
// directory, a free port), for tests that must stop and start a real server — which
// the shared cluster on :5432 must never be.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = '/usr/lib/postgresql/15/bin';

export interface ScratchCluster {
  url: string;
  port: number;
  /** The data directory (pg_hba.conf is there). */
  dataDir: string;
  /** `immediate` is what a crash looks like to clients; `fast` is a clean shutdown. */
  stop(mode?: 'immediate' | 'fast'): void;
  start(): void;
  destroy(): void;
}

// initdb and the server refuse to run as root; CI runs as root, so run them as postgres.
function asPostgres(args: string[]): void {
  const cmd = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args;
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
}

export async function startScratchCluster(): Promise<ScratchCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-pg-'));
  chmodSync(dir, 0o700);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  asPostgres([`${BIN}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const cluster: ScratchCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir: data,
    start() {
      asPostgres([`${BIN}/pg_ctl`, '-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', 'start']);
    },
    stop(mode = 'fast') {
      asPostgres([`${BIN}/pg_ctl`, '-D', data, '-m', mode, '-w', 'stop']);
    },
    destroy() {
      try {
        cluster.stop('immediate');
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  cluster.start();
  return cluster;
}
