import { createColdStore, type ColdStore } from '../../core/src';
import { wholeChExpr, type WholeFn } from '../../proxy/src/engine/whole-aggregate';
import { embeddedColdStorePath } from '../support/cold-endpoint';
import { adminUrl, withClient } from '../support/postgres';

/**
 * ClickHouse's percentile_cont / percentile_disc (whole-aggregate.ts wholeChExpr) against
 * PostgreSQL's own over the same groups, value for value to the last bit: many group sizes
 * and fractions, ties, NULLs, -0, NaN, ±Infinity, an interpolation that overflows, and
 * int8 values float8 cannot hold. ClickHouse's quantileExact* are not these functions
 * (measured in H5: quantileExactInclusive(0.1) of {0, 10} is 1.0000000000000009 where
 * PostgreSQL answers 1, and no quantileExact variant picks percentile_disc's row); this
 * pins the arithmetic any cheaper form would have to keep.
 */
const FRACTIONS = ['0', '0.1', '0.25', '0.3', '0.5', '0.75', '0.9', '0.95', '0.99', '0.999', '1'];

interface Row {
  g: number;
  v: number | null;
  n: bigint | null;
}

function rows(): Row[] {
  const out: Row[] = [];
  const group = (g: number, vs: Array<number | null>, ns: Array<bigint | null> = vs.map(() => null)) => vs.forEach((v, i) => out.push({ g, v, n: ns[i] }));
  group(1, [0, 10], [0n, 10n]);
  group(2, [42.5], [-7n]);
  group(3, [null, null]);
  group(4, [1, 1, 1, 2, 2, 3], [5n, 5n, 5n, 5n, 6n, 6n]);
  group(5, [NaN, Infinity, -Infinity, 3, NaN, null, -1.5]);
  group(6, [-0, 0, -0, 1]);
  group(7, [-1e308, 1e308, 1e308], [9223372036854775807n, -9223372036854775808n, 9007199254740993n]);
  group(8, [Infinity, Infinity, 0], [9007199254740993n, 9007199254740995n, 9007199254740997n]);
  // Pseudo-random groups of 1 to 60 values: decimals, ties, a NULL now and then.
  let seed = 7;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  for (let g = 9; g < 70; g++) {
    const size = 1 + Math.floor(rand() * 60);
    const vs: Array<number | null> = [];
    const ns: Array<bigint | null> = [];
    for (let i = 0; i < size; i++) {
      vs.push(rand() < 0.1 ? null : Math.round(rand() * 1e5) / 1e2 - 300);
      ns.push(rand() < 0.1 ? null : BigInt(Math.floor(rand() * 2e6) - 1e6) * (g % 3 === 0 ? 4611686018427n : 1n));
    }
    group(g, vs, ns);
  }
  return out;
}

const pgFloat = (v: number | null) => (v === null ? 'NULL' : Number.isNaN(v) ? `'NaN'` : v === Infinity ? `'Infinity'` : v === -Infinity ? `'-Infinity'` : Object.is(v, -0) ? `'-0'` : String(v));
const chFloat = (v: number | null) => (v === null ? 'NULL' : Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : Object.is(v, -0) ? '-0.0' : String(v));

/** One value's text in a common spelling: PostgreSQL's and ClickHouse's TabSeparated differ for NULL and the non-finite floats. */
function normal(text: string | null): string | null {
  if (text === null || text === '\\N') return null;
  return ({ nan: 'NaN', inf: 'Infinity', '-inf': '-Infinity' } as Record<string, string>)[text] ?? text;
}

/** Same float: the same double to the last bit (NaN equal to NaN, -0 not 0). */
function sameFloat(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return Object.is(Number(a), Number(b));
}

let store: ColdStore;
beforeAll(() => {
  store = createColdStore({ kind: 'embedded', path: embeddedColdStorePath(), database: 'default' });
});
afterAll(async () => {
  await store?.close();
});

it('percentile_cont and percentile_disc pushed whole are PostgreSQL\'s, bit for bit, over floats and integers', async () => {
  const data = rows();
  const columns: Array<{ fn: WholeFn; column: 'v' | 'n'; fraction: string }> = [];
  for (const fraction of FRACTIONS) {
    for (const fn of ['percentile_cont', 'percentile_disc'] as const) for (const column of ['v', 'n'] as const) columns.push({ fn, column, fraction });
  }
  const pgValues = data.map((r) => `(${r.g}, ${pgFloat(r.v)}::float8, (${r.n === null ? 'NULL' : r.n})::int8)`).join(', ');
  const pgSql = `SELECT g, ${columns.map((c) => `${c.fn}(${c.fraction}) WITHIN GROUP (ORDER BY ${c.column})::text`).join(', ')}
    FROM (VALUES ${pgValues}) AS t(g, v, n) GROUP BY g ORDER BY g`;
  const expected = await withClient(adminUrl(), async (c) => (await c.query({ text: pgSql, rowMode: 'array' })).rows as Array<Array<string | null>>);

  const chValues = data.map((r) => `(${r.g}, ${chFloat(r.v)}, ${r.n === null ? 'NULL' : r.n})`).join(', ');
  const chSql = `SELECT g, ${columns.map((c, i) => wholeChExpr({ name: `c${i}`, ...c })).join(', ')}
    FROM values('g UInt32, v Nullable(Float64), n Nullable(Int64)', ${chValues}) GROUP BY g ORDER BY g`;
  const actual = (await store.queryTsv(chSql))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));

  expect(actual.map((r) => Number(r[0]))).toEqual(expected.map((r) => Number(r[0])));
  const differences: string[] = [];
  expected.forEach((row, i) => {
    columns.forEach((c, j) => {
      const want = normal(row[j + 1]);
      const got = normal(actual[i][j + 1]);
      const exact = c.fn === 'percentile_disc' && c.column === 'n';
      if (exact ? want !== got : !sameFloat(want, got)) differences.push(`group ${row[0]} ${c.fn}(${c.fraction}) of ${c.column}: PostgreSQL ${want}, ClickHouse ${got}`);
    });
  });
  expect(differences).toEqual([]);
  // The groups really cover the cases: interpolated values, NaN and infinite answers.
  const answers = expected.flatMap((r) => r.slice(1));
  expect(answers).toEqual(expect.arrayContaining(['NaN', 'Infinity', '-Infinity', '-0', '1']));
});
