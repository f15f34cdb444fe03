import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { repoPath } from '../support/paths';
import { freePort } from '../support/ports';

/**
 * `strata gateway` as its own process (gateway/dist/main.js, built by `npx tsc -b`),
 * configured only through its environment as a deployment would be, so the tests can read
 * its memory from /proc and talk to its real listeners.
 */
export interface GatewayProcess {
  pid: number;
  port: number;
  grpcPort: number;
  logs: Array<Record<string, unknown>>;
  /** Resident set now and its peak since the last resetPeak, bytes (/proc/PID/status). */
  memory(): { rss: number; peak: number };
  /** Starts a new peak from the current resident set (/proc/PID/clear_refs, Linux ≥ 4.0). */
  resetPeak(): void;
  stop(): Promise<void>;
}

export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const grpcPort = await freePort();
  const child: ChildProcess = spawn(process.execPath, [repoPath('gateway', 'dist', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', STRATA_GATEWAY_PORT: '0', STRATA_GATEWAY_GRPC_PORT: String(grpcPort), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${stderr} ${JSON.stringify(logs)}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === 'gateway listening') resolve(entry.port as number);
    });
  });
  const pid = child.pid!;
  const statusKb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m![1]) * 1024;
  };
  return {
    pid,
    port,
    grpcPort,
    logs,
    memory: () => ({ rss: statusKb('VmRSS'), peak: statusKb('VmHWM') }),
    resetPeak: () => writeFileSync(`/proc/${pid}/clear_refs`, '5'),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      // A call a test left open keeps gRPC's graceful shutdown waiting.
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await once(child, 'exit');
      clearTimeout(kill);
    },
  };
}
