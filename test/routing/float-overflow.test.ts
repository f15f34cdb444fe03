import { sameAsReference, startDifferentialBed, textOutcome, tieredSpec, type DifferentialBed } from './differential-bed';

/**
 * Float aggregates ClickHouse computes whole (variance, standard deviation, covar_*,
 * regr_*) over finite inputs whose sums overflow: PostgreSQL raises 22003 "value out of
 * range: overflow", and so does the proxy — the cold query's overflow check (a throwIf)
 * arrives as that error, not as a cold-tier failure (58030). Groups whose sums stay
 * finite answer as PostgreSQL does beside them.
 */
const TABLE = tieredSpec({
  table: 'overflow_events',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text' },
    { name: 'v', type: 'double precision' },
  ],
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: { orderBy: ['host', 'time'], partitionBy: 'day' },
});

const W = '2026-01-03T00:00:00Z';

/** `big` alternates ±1e308 (every sum of two overflows), `ok` small values; both tiers. */
const ROWS = `SELECT t, h, CASE h WHEN 'big' THEN (CASE WHEN n % 2 = 0 THEN 1e308 ELSE -1e308 END)::float8 ELSE (n % 7)::float8 END
  FROM generate_series(timestamptz '2026-01-01 00:00+00', timestamptz '2026-01-03 23:00+00', interval '1 hour') WITH ORDINALITY g(t, n),
    LATERAL (SELECT (ARRAY['big', 'ok'])[1 + n % 2] AS h) host`;

/** Cold rows only; and a range reaching the hot tier, its cold side longer (hot rows shipped). */
const RANGES = [`time < '2026-01-02 12:00+00'`, `time >= '2026-01-01 12:00+00' AND time < '2026-01-03 12:00+00'`];

jest.setTimeout(60_000);

describe('float overflow in aggregates pushed whole', () => {
  let bed: DifferentialBed;

  beforeAll(async () => {
    bed = await startDifferentialBed(TABLE, {
      reference: 'overflow_reference',
      rows: ROWS,
      partitions: ['2026-01-01T00:00:00Z', '2026-01-05T00:00:00Z'],
      watermark: W,
      password: 'float-overflow-secret',
    });
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  it.each(['stddev(v)', 'var_pop(v)', 'covar_samp(v, v)', 'regr_sxx(v, v)'])('%s overflows with 22003, as in PostgreSQL', async (aggregate) => {
    for (const range of RANGES) {
      const sql = `SELECT host, ${aggregate} FROM overflow_events WHERE ${range} GROUP BY host ORDER BY host`;
      const plan = await sameAsReference(bed, sql);
      // An error has no plan: read the plan class of the same statement over `ok` alone.
      expect(plan).toBe('');
      const actual = await textOutcome(bed.client, sql);
      expect(actual).toMatchObject({ ok: false, code: '22003', message: 'value out of range: overflow' });
      const okOnly = await sameAsReference(bed, sql.replace('GROUP BY', "AND host = 'ok' GROUP BY"), { referenceAnswers: true, someRows: true });
      expect(okOnly).toContain('Strata plan class: whole');
    }
  });
});
