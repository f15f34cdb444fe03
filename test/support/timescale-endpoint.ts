// Starts test/support/pglite-timescale-server.js (PGlite + TimescaleDB behind
// pglite-socket) as a child process, so tests reach it through the real `pg` driver.
import { repoPath } from './paths';
import { ChildProcess, spawn } from 'node:child_process';

export interface TimescaleOptions {
  /** Persist PGlite's data here; in memory when absent. */
  dataDir?: string;
  /** Serve through unmodified pglite-socket (no framing, COPY FROM or session reset). */
  raw?: boolean;
  /** How long to wait for `listening`; PGlite + TimescaleDB start in about 2 s. */
  startTimeoutMs?: number;
}

export interface TimescaleEndpoint {
  connectionString: string;
  port: number;
  /** Resolves with the server's exit code (70: PGlite aborted, see the server script). */
  exited: Promise<number | null>;
  /** The server's stderr so far (last 64 KiB). */
  stderr(): string;
  stop(): Promise<void>;
}

const SCRIPT = 'pglite-timescale-server.js';
const STDERR_KEEP = 64 * 1024;
const STOP_GRACE_MS = 10_000;

export async function startTimescale(options: TimescaleOptions = {}): Promise<TimescaleEndpoint> {
  const args = [repoPath('test', 'support', SCRIPT), '--port', '0'];
  if (options.dataDir) args.push('--data', options.dataDir);
  if (options.raw) args.push('--raw');

  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_KEEP);
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  // A test runner that dies mid-suite must not leave servers behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let port: number;
  try {
    port = await waitForListening(child, exited, options.startTimeoutMs ?? 60_000, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    process.removeListener('exit', killOnExit);
    throw err;
  }

  return {
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    exited,
    stderr: () => stderr,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

function waitForListening(
  child: ChildProcess,
  exited: Promise<number | null>,
  timeoutMs: number,
  stderr: () => string,
): Promise<number> {
  return new Promise((resolvePort, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      reject(new Error(`timescale test server not listening after ${timeoutMs} ms; stderr: ${stderr()}`));
    }, timeoutMs);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      stdout += text;
      // Wait for the newline: a read may end inside the port number.
      const match = /^listening (\d+)\n/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`timescale test server exited with ${code} before listening; stderr: ${stderr()}`));
    });
  });
}
