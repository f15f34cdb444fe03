import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EMBEDDED_POSTGRES_ERROR_CODES, EmbeddedPostgresError } from './embedded-postgres-error';
import type { PostgresBinaries } from './postgres-binaries';
import type { ServerAccount } from './server-account';

/**
 * initdb and the postgres server as child processes, run as `account` when given (root
 * runs them as `postgres`). Both start in `/`: the caller's working directory may be a
 * checkout the account cannot enter. Messages are in English (lc_messages=C), since
 * readiness is read from the server's log.
 *
 * The server gets its own process group, so the Ctrl-C a terminal sends to `strata up`'s
 * group does not reach it: `strata up` drains its endpoints and flushes writes first and
 * stops PostgreSQL last. Should the Node process exit without stopping it, the 'exit'
 * hook still does; only a signal that ends Node outright (SIGKILL) leaves the server
 * running, and the next start then reports its lock file and pid.
 */
const READY_LINE = 'database system is ready to accept connections';
const START_TIMEOUT_MS = 60_000;
const LOG_TAIL_LINES = 20;

const childEnv = () => ({ ...process.env, LC_MESSAGES: 'C' });
const asAccount = (account: ServerAccount | undefined) => (account ? { uid: account.uid, gid: account.gid } : {});

export async function initCluster(opts: { binaries: PostgresBinaries; pgdata: string; superuser: string; password: string; account?: ServerAccount }): Promise<void> {
  // The password reaches initdb in a file only the server account can read, beside the
  // cluster's directory: the account can reach it there (it may not reach $TMPDIR).
  const secretDir = mkdtempSync(join(dirname(opts.pgdata), '.initdb-'));
  try {
    const pwfile = join(secretDir, 'pwfile');
    writeFileSync(pwfile, opts.password + '\n', { mode: 0o600 });
    if (opts.account) {
      chownSync(secretDir, opts.account.uid, opts.account.gid);
      chownSync(pwfile, opts.account.uid, opts.account.gid);
    }
    const args = [`--pgdata=${opts.pgdata}`, '--auth=scram-sha-256', `--username=${opts.superuser}`, `--pwfile=${pwfile}`, ...utf8Locale(), '--lc-messages=C'];
    const child = spawnAs(opts.binaries.initdb, args, opts.account, false);
    const tail = logTail(child);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', (err) => reject(spawnFailed(opts.binaries.initdb, opts.account, err)));
      child.once('close', (c) => resolve(c));
    });
    if (code !== 0) {
      throw new EmbeddedPostgresError(EMBEDDED_POSTGRES_ERROR_CODES.server, `initdb of ${opts.pgdata} failed (exit ${code}):\n${tail.text()}`);
    }
  } finally {
    rmSync(secretDir, { recursive: true, force: true });
  }
}

/**
 * UTF-8 whatever the environment's locale: the user's own locale when it is a UTF-8 one
 * (its collation stays), else C, the one locale initdb accepts with any encoding (an
 * unset LANG would give SQL_ASCII; a Latin-1 one would make initdb refuse UTF8).
 */
function utf8Locale(): string[] {
  const locale = process.env.LC_ALL || process.env.LC_CTYPE || process.env.LANG || '';
  return /utf-?8/i.test(locale) ? ['--encoding=UTF8'] : ['--encoding=UTF8', '--locale=C'];
}

export interface PostgresServer {
  /** Fast shutdown (SIGINT): sessions end, the server checkpoints and exits. */
  stop(): Promise<void>;
}

export async function startServer(opts: {
  binaries: PostgresBinaries;
  pgdata: string;
  port: number;
  account?: ServerAccount;
  settings: Record<string, string>;
  onExit: (message: string) => void;
}): Promise<PostgresServer> {
  const settings = Object.entries({ ...opts.settings, lc_messages: 'C' }).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const child = spawnAs(opts.binaries.postgres, ['-D', opts.pgdata, '-p', String(opts.port), ...settings], opts.account, true);
  const tail = logTail(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stopOnExit = () => child.kill('SIGINT');
  process.once('exit', stopOnExit);

  await new Promise<void>((resolve, reject) => {
    const fail = (message: string) => {
      clearTimeout(timer);
      reject(new EmbeddedPostgresError(EMBEDDED_POSTGRES_ERROR_CODES.server, message));
    };
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      fail(`PostgreSQL did not accept connections within ${START_TIMEOUT_MS / 1000}s:\n${tail.text()}`);
    }, START_TIMEOUT_MS);
    tail.onLine((line) => {
      if (line.includes(READY_LINE)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(spawnFailed(opts.binaries.postgres, opts.account, err));
    });
    child.once('exit', (code, signal) => fail(`PostgreSQL on port ${opts.port} exited (${signal ?? code}) before it was ready:\n${tail.text()}`));
  });

  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) opts.onExit(`PostgreSQL exited unexpectedly (${signal ?? code}):\n${tail.text()}`);
  });
  return {
    stop: async () => {
      stopping = true;
      process.removeListener('exit', stopOnExit);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}

function spawnAs(program: string, args: string[], account: ServerAccount | undefined, ownGroup: boolean): ChildProcess {
  return spawn(program, args, { ...asAccount(account), cwd: '/', env: childEnv(), detached: ownGroup, stdio: ['ignore', 'pipe', 'pipe'] });
}

function spawnFailed(program: string, account: ServerAccount | undefined, err: Error): EmbeddedPostgresError {
  const who = account ? `user ${account.name}` : 'this user';
  return new EmbeddedPostgresError(EMBEDDED_POSTGRES_ERROR_CODES.server, `cannot run ${program} as ${who}: ${err.message}`, { cause: err });
}

/**
 * The last lines of a child's stdout and stderr, for error messages. Reading them also
 * keeps the pipes drained, so a talkative server never blocks on its log.
 */
function logTail(child: ChildProcess) {
  const lines: string[] = [];
  const listeners: ((line: string) => void)[] = [];
  let partial = '';
  const take = (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      if (lines.length > LOG_TAIL_LINES) lines.shift();
      for (const l of listeners) l(line);
    }
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  return {
    text: () => [...lines, partial].filter(Boolean).join('\n'),
    onLine: (listener: (line: string) => void) => listeners.push(listener),
  };
}
