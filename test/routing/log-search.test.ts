import { compareOutcomes } from './corpus/compare';
import { tieredFixture, type TieredFixture } from '../support/tiered-fixture';
import { engineOutcome, engineRows, engineSession, loadDifferentialTable, startEngineBed, textOutcome, tieredSpec, type EngineBed } from './differential-bed';

/**
 * Log-search conditions (translate/ch-text-match.ts) through the engine against
 * PostgreSQL holding every row: messages with non-ASCII text whose case folds differ
 * between the engines (İ ı K ſ ß ẞ ς σ Σ), NULLs, empty strings, %, _, backslashes and
 * newlines, in both tiers. Each condition runs as partial aggregates (ClickHouse filters
 * and counts) and as raw rows, and the ones that must be pushed are seen in the SQL sent
 * to ClickHouse.
 */

const LOGS = tieredSpec({
  table: 'search_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'level', type: 'text' },
    { name: 'msg', type: 'text' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['level', 'time'], partitionBy: 'day' },
});

const MESSAGES = [
  'GET /api/users 200',
  'get /API/orders 500',
  'Error: connection refused',
  'ERROR timeout after 30s',
  'error',
  '',
  null,
  '100% done',
  '100 percent',
  'a_b',
  'axb',
  'back\\slash',
  'line one\nline two',
  'İstanbul',
  'istanbul',
  'ıi',
  'KELVIN',
  '\u212Aelvin 5\u212A', // the Kelvin sign: lower() gives k in PostgreSQL, not in ClickHouse
  'X\u0130Y',
  'ſtraße',
  'STRASSE',
  'straẞe',
  'ΣΟΦΟΣ',
  'σοφος',
  'σοφoς',
  'é',
  'ée',
  '日本語のログ',
  'warn: disk 95%',
];
const LITERALS = `ARRAY[${MESSAGES.map((m) => (m === null ? 'NULL' : `E'${m.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`)).join(', ')}]::text[]`;
const ROWS = `SELECT t, (ARRAY['info', 'warn', NULL])[1 + n % 3], (${LITERALS})[1 + (n * 7) % ${MESSAGES.length}]
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-02 23:50+00', interval '10 minutes') WITH ORDINALITY g(t, n)`;
const W = '2026-01-02T00:00:00Z';

const session = () => engineSession('UTC');

jest.setTimeout(60_000);

describe('log search across tiers answers as PostgreSQL does', () => {
  let bed: EngineBed;
  let fx: TieredFixture;

  async function expectSame(sql: string): Promise<void> {
    const actual = await engineOutcome(bed.engine, sql, session());
    const expected = await textOutcome(bed.ref, sql.replace(/\bsearch_events\b/g, 'search_reference'));
    expect({ sql, diff: compareOutcomes(expected, actual, /ORDER BY/i.test(sql)) }).toEqual({ sql, diff: undefined });
  }

  /** The SQL EXPLAIN says is sent to ClickHouse. */
  async function coldSql(sql: string): Promise<string> {
    const plan = (await engineRows(await bed.engine.execute({ sql: `EXPLAIN ${sql}`, params: [], paramTypes: [] }, session()))).map((r) => r[0]).join('\n');
    const lines = plan.split('\n').filter((l) => /^\s*ClickHouse: /.test(l));
    expect(lines).toHaveLength(1);
    return lines[0];
  }

  beforeAll(async () => {
    fx = await tieredFixture(LOGS);
    await loadDifferentialTable(fx, LOGS, {
      reference: 'search_reference', rows: ROWS,
      partitions: ['2026-01-01T00:00:00Z', '2026-01-03T00:00:00Z'], watermark: W,
    });
    bed = await startEngineBed(fx);
  }, 120_000);

  afterAll(async () => bed?.close());

  it('holds every message in both tiers', async () => {
    const cold = await fx.cold.query<{ n: string }>(`SELECT uniqExact(msg) AS n FROM \`${fx.database}\`.search_events`);
    const hot = await fx.hot.query<{ n: number }>('SELECT count(DISTINCT msg)::int AS n FROM search_events');
    expect([Number(cold[0].n), hot.rows[0].n]).toEqual([MESSAGES.length - 1, MESSAGES.length - 1]);
  });

  const pushed = [
    "msg LIKE '%error%'",
    "msg LIKE 'a_b'",
    "msg LIKE '__'",
    "msg LIKE '_'",
    "msg LIKE '100\\%%'",
    "msg LIKE '%\\\\%'",
    "msg LIKE '%#_%' ESCAPE '#'",
    "msg LIKE 'line%two'",
    "msg LIKE ''",
    "msg NOT LIKE '%e%'",
    "msg LIKE '日本%'",
    "msg ILIKE '%error%'",
    "msg ILIKE 'get /api%'",
    "msg NOT ILIKE '%i%'",
    "msg ILIKE 'istanbul'",
    "msg ILIKE '%k%'",
    "msg ILIKE '_elv%'",
    "msg ILIKE '%elvin 5_'",
    "msg ILIKE 'kelvin%'",
    "msg ILIKE 'x_y'",
    "msg ILIKE 'xiy'",
    "lower(msg) LIKE '%elvin%'",
    "strpos(lower(msg), 'elvin') = 2",
    "msg ILIKE 's%'",
    "msg ~~* '%STRASSE%'",
    "msg !~~* '%a%'",
    "lower(msg) = 'istanbul'",
    "lower(msg) LIKE '%kelvin%'",
    "upper(msg) LIKE 'S%'",
    "upper(msg) = 'II'",
    "upper(msg) <> 'ERROR'",
    "msg ~ '^(GET|get) /'",
    "msg ~ 'e.r'",
    "msg ~ 'line.line'",
    "msg ~ 'one$'",
    "msg ~ '[0-9]+%'",
    "msg !~ '[^a-z]'",
    "msg ~* 'error'",
    "msg ~* '^i'",
    "msg ~* 'k'",
    "msg ~* 's'",
    "msg !~* '[a-f]'",
    "position('error' in msg) > 0",
    "position('' in msg) = 1",
    "strpos(msg, 'e') = 2",
    "strpos(msg, 'ß') > 4",
    "0 < position('r' in lower(msg))",
    "starts_with(msg, 'GET')",
    "starts_with(lower(msg), 'get')",
    "msg ^@ ''",
    "NOT (msg ILIKE '%error%' OR msg LIKE '%_%')",
  ];
  const unpushed = ["msg ILIKE '%straße%'", "msg ~* 'σ'", "msg ~ '\\w+'", "msg ~ 'a{1,2}'", "lower(msg) = 'straße'", "msg ILIKE '%ς%'", "upper(msg) LIKE '%Σ%'"];

  it.each([...pushed, ...unpushed])('WHERE %s', async (cond) => {
    await expectSame(`SELECT level, count(*), count(msg), min(length(msg)) FROM search_events WHERE ${cond} GROUP BY level ORDER BY level`);
    await expectSame(`SELECT time, level, msg FROM search_events WHERE ${cond} ORDER BY time`);
  });

  it.each(pushed)('sends WHERE %s to ClickHouse', async (cond) => {
    expect(await coldSql(`SELECT count(*) FROM search_events WHERE ${cond} AND time < '${W}'`)).toMatch(/LIKE|match\(|positionUTF8|startsWith|lower\(|upper\(/);
  });

  it.each(unpushed)('keeps WHERE %s in PostgreSQL', async (cond) => {
    expect(await coldSql(`SELECT count(*) FROM search_events WHERE ${cond} AND time < '${W}'`)).not.toMatch(/LIKE|match\(|positionUTF8|startsWith|lower\(|upper\(/);
  });
});
