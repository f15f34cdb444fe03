// kubectl (built by scripts/deps/operator.sh) against a test kube-apiserver.
import { execFile, spawn } from 'node:child_process';
import { testbedBin } from './kube-apiserver';

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs kubectl; resolves with its output and exit code (rejects only if it cannot start). */
export function kubectlRun(kubeconfig: string, args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(testbedBin('kubectl'), ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code: code ?? -1 }));
    child.stdin.end(input ?? '');
  });
}

/** Runs kubectl and fails with its stderr when it exits non-zero. */
export async function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  const r = await kubectlRun(kubeconfig, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

export async function kubectlJson<T = Record<string, unknown>>(kubeconfig: string, args: string[]): Promise<T> {
  return JSON.parse(await kubectl(kubeconfig, [...args, '-o', 'json'])) as T;
}

/** helm (built by scripts/deps/operator.sh); throws with stderr on failure. */
export function helm(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(testbedBin('helm'), args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`helm ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Polls `check` until it returns a value other than undefined/false, or times out with the last state. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000, intervalMs = 300): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
