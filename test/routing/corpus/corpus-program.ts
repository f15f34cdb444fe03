import { spawn } from 'node:child_process';
import type { Outcome } from './compare';

/**
 * Runs a corpus client program (pgx, psycopg2, JDBC) over a whole corpus: `input` on its
 * stdin, one JSON outcome line per entry on its stdout (`{name, ok, fields, rows}` or
 * `{name, ok: false, code, message}`); outcomes by entry name.
 */
export async function runCorpusProgram(command: string, args: string[], input: string, env?: NodeJS.ProcessEnv): Promise<Map<string, Outcome>> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env && { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  child.stdin.end(input);
  const code = await exited;
  if (code !== 0) throw new Error(`${command} exited with ${code}: ${stderr.slice(0, 2000)}`);
  const out = new Map<string, Outcome>();
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const o = JSON.parse(line) as { name: string; ok: boolean; fields?: Array<{ name: string; typeOid: number }>; rows?: Array<Array<string | null>>; code?: string; message?: string };
    out.set(o.name, o.ok ? { ok: true, fields: o.fields ?? [], rows: o.rows ?? [] } : { ok: false, code: o.code ?? 'XX000', message: o.message ?? '' });
  }
  return out;
}
