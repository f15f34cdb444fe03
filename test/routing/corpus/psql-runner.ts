import { spawn } from 'node:child_process';
import type { Outcome } from './compare';
import type { CorpusRunner } from './runners';

const NULL_MARK = '\u2400NULL\u2400';
const FIELD_SEP = '\u001f';
const RECORD_SEP = '\u001e';

/**
 * psql (the real client, simple protocol, one process per entry as a user types it):
 * names and text rows of the last result. psql does not print type OIDs, so the
 * outcome takes the expected OIDs for its columns: only names, values and row order
 * are checked through psql (node-postgres and pgx check the OIDs).
 */
export function psqlRunner(url: string, typeOidsFor: (sql: string) => number[] | undefined): CorpusRunner {
  return {
    async run(sql) {
      const child = spawn('psql', ['-X', '-q', '-A', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose', '-P', 'footer=off', '-P', `null=${NULL_MARK}`, '-F', FIELD_SEP, '-R', RECORD_SEP, '-d', url, '-c', sql], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
      const code = await new Promise<number | null>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', resolve);
      });
      if (code !== 0) {
        const m = /ERROR:\s+([0-9A-Z]{5}): (.*)/.exec(err);
        return { ok: false, code: m ? m[1] : 'XX000', message: m ? m[2] : err.trim() } satisfies Outcome;
      }
      const records = out.replace(/\n$/, '').split(RECORD_SEP);
      const header = records.shift() ?? '';
      const names = header === '' ? [] : header.split(FIELD_SEP);
      const oids = typeOidsFor(sql) ?? names.map(() => 0);
      return {
        ok: true,
        fields: names.map((name, i) => ({ name, typeOid: oids[i] ?? 0 })),
        rows: records.filter((r) => r !== '').map((r) => r.split(FIELD_SEP).map((v) => (v === NULL_MARK ? null : v))),
      } satisfies Outcome;
    },
    close: async () => undefined,
  };
}
