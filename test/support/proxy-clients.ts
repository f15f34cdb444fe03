// Runs the real-client programs (Go, Java, Python, psql) against a proxy fixture.
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const CLIENT_CACHE = join(process.env.STRATA_CACHE || join(homedir(), '.cache', 'strata'), 'proxy-clients');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns a client program; resolves when it exits or is killed after timeoutMs. */
export function runClient(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60000, onSpawn?: (pid: number) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('spawn', () => onSpawn?.(child.pid!));
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every "ok <step>" line a scripted client printed. */
export function okSteps(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('ok '))
    .map((l) => l.slice(3));
}
