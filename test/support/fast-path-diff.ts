import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createTestDatabase } from './postgres';
export { seededRandom } from './seeded-random';

/**
 * Differential testing of an ingest hot path (gateway/src/model/json-copy.ts,
 * protocols/otlp-metrics-copy.ts) against the general path, judged by PostgreSQL: every
 * input the hot path accepts is encoded both ways, both COPY texts are stored, and the
 * stored rows, as PostgreSQL prints them, must be identical.
 */

export interface FastPathCase {
  /** The hot path's COPY text, or undefined when it declined the input. */
  fast: string | undefined;
  /** The general path's COPY text for the same input (called only when the hot path accepted). */
  general(): string;
}

export interface FastPathComparison {
  accepted: number;
  declined: number;
  /** Inputs whose two encodings have different row counts. */
  rowCountMismatches: number[];
  /** Up to 5 stored rows present on one side only. */
  differences: unknown[];
  storedRows: number;
}

/** `columnsDdl`: the table's columns as in CREATE TABLE; every column is compared as text. */
export async function compareStoredCopies(columnsDdl: string, columnNames: string[], cases: Iterable<FastPathCase>): Promise<FastPathComparison> {
  const tag = (input: number, data: string) =>
    data
      .split('\n')
      .filter(Boolean)
      .map((l) => `${input}\t${l}\n`);
  const result: FastPathComparison = { accepted: 0, declined: 0, rowCountMismatches: [], differences: [], storedRows: 0 };
  const fast: string[] = [];
  const general: string[] = [];
  let input = 0;
  for (const c of cases) {
    input++;
    if (c.fast === undefined) {
      result.declined++;
      continue;
    }
    result.accepted++;
    const f = tag(input, c.fast);
    const g = tag(input, c.general());
    if (f.length !== g.length) result.rowCountMismatches.push(input);
    fast.push(...f);
    general.push(...g);
  }
  const db = await createTestDatabase('fast_path_diff');
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query("SET TimeZone = 'UTC'");
    for (const [table, lines] of [['fast', fast], ['general', general]] as const) {
      await client.query(`CREATE TABLE ${table} (input int, ${columnsDdl})`);
      await pipeline(Readable.from([Buffer.from(lines.join(''), 'utf8')]), client.query(copyFrom(`COPY ${table} FROM STDIN`)));
    }
    const cols = ['input', ...columnNames.map((c) => `"${c}"::text`)].join(', ');
    const diff = await client.query(
      `(SELECT ${cols} FROM fast EXCEPT ALL SELECT ${cols} FROM general) UNION ALL (SELECT ${cols} FROM general EXCEPT ALL SELECT ${cols} FROM fast) LIMIT 5`,
    );
    result.differences = diff.rows;
    result.storedRows = (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM fast')).rows[0].n;
  } finally {
    await client.end();
    await db.drop();
  }
  return result;
}
