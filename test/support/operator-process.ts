// The operator as a separate process (operator/dist/main.js, built by `npx tsc -b`), the
// way it runs in a pod: tests kill it with SIGKILL, run two replicas, give it a
// ServiceAccount token. Its pino JSON log lines are kept for assertions.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { repoPath } from './paths';

export const OPERATOR_MAIN = repoPath('operator', 'dist', 'main.js');

export interface OperatorProcess {
  identity: string;
  port: number;
  logs: Array<Record<string, unknown>>;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Resolves with the first log line matching. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  kill(signal?: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export async function startOperatorProcess(kubeconfig: string, env: Record<string, string>, identity: string): Promise<OperatorProcess> {
  if (!existsSync(OPERATOR_MAIN)) throw new Error(`${OPERATOR_MAIN} missing: run \`npx tsc -b\` first`);
  const child = spawn(process.execPath, [OPERATOR_MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      KUBECONFIG: kubeconfig,
      POD_NAME: identity,
      STRATA_OPERATOR_HTTP_HOST: '127.0.0.1',
      STRATA_OPERATOR_HTTP_PORT: '0',
      LOG_LEVEL: 'debug',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      parsed = { msg: line };
    }
    logs.push(parsed);
    for (const w of [...waiters]) {
      if (w.match(parsed)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(parsed);
      }
    }
  });
  // pino writes to stdout, so a timeout shows what the operator last said (test data only).
  const recentLogs = () => logs.slice(-25).map((l) => JSON.stringify(l)).join('\n');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitForLog = (match: (l: Record<string, unknown>) => boolean, timeoutMs = 30_000) => {
    const found = logs.find(match);
    if (found) return Promise.resolve(found);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`operator ${identity}: log line not seen in ${timeoutMs} ms; last log lines:\n${recentLogs()}\nstderr: ${stderr}`)), timeoutMs);
      waiters.push({ match, resolve: (l) => (clearTimeout(t), resolve(l)) });
      void exited.then((code) => reject(new Error(`operator ${identity} exited (${code}); last log lines:\n${recentLogs()}\nstderr: ${stderr}`)));
    });
  };
  const listening = await waitForLog((l) => l.msg === 'operator listening');
  const port = listening.port as number;
  return {
    identity,
    port,
    logs,
    child,
    exited,
    waitForLog,
    async metric(name, labels = {}) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(name)) continue;
        const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const lbl = m[2] ?? '';
        if (Object.entries(labels).every(([k, v]) => lbl.includes(`${k}="${v}"`))) sum += Number(m[3]);
      }
      return sum;
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      child.kill(signal);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
