import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { columnNameProblem, parseTieredTableDocuments, TieredTableValidationError, validateResource, validateTieredTable, type FieldError } from './validate';

/** DESIGN.md's TieredTable example, verbatim but for its prose `status:` sketch. */
const DESIGN_EXAMPLE = `
apiVersion: strata.dev/v1alpha1
kind: TieredTable
metadata: { name: metrics-events }
spec:
  table: metrics_events
  timeColumn: time
  columns:
    - { name: time,   type: timestamptz }
    - { name: app,    type: text }
    - { name: host,   type: text }
    - { name: labels, type: jsonb }
    - { name: value,  type: double precision }
  hot:  { chunkInterval: 1h, retention: 24h }          # rows older than 24h move
  cold: { orderBy: [app, host, time], partitionBy: day, retention: 90d }
  rollups:
    - { name: 1m, interval: 1m, groupBy: [app, host], aggregates: { value: [avg, min, max, sum, count] } }
  tiering: { every: 5m }
  deletionPolicy: Retain        # or Delete
`;

// A fresh copy per case, so a case may mutate it.
const base = (): Record<string, any> => parseYaml(DESIGN_EXAMPLE).spec; // eslint-disable-line @typescript-eslint/no-explicit-any

function errorsOf(input: unknown): FieldError[] {
  const r = validateTieredTable(input);
  if (r.ok) throw new Error('expected the spec to be invalid');
  return r.errors;
}

describe('valid specs', () => {
  test("DESIGN.md's example passes, with defaults filled in", () => {
    const r = validateTieredTable(base());
    expect(r).toEqual({
      ok: true,
      spec: {
        table: 'metrics_events',
        schema: 'public',
        timeColumn: 'time',
        columns: [
          { name: 'time', type: 'timestamptz' },
          { name: 'app', type: 'text' },
          { name: 'host', type: 'text' },
          { name: 'labels', type: 'jsonb' },
          { name: 'value', type: 'double precision' },
        ],
        mode: 'hot-then-cold',
        hot: { chunkInterval: '1h', retention: '24h' },
        cold: { orderBy: ['app', 'host', 'time'], partitionBy: 'day', retention: '90d' },
        rollups: [{ name: '1m', interval: '1m', groupBy: ['app', 'host'], aggregates: { value: ['avg', 'min', 'max', 'sum', 'count'] } }],
        tiering: { every: '5m', batchRows: 100000 },
        deletionPolicy: 'Retain',
      },
    });
  });

  test.each<[string, (s: Record<string, any>) => void]>([ // eslint-disable-line @typescript-eslint/no-explicit-any
    ['count on a text column', (s) => (s.rollups[0].aggregates.app = ['count'])],
    ['a timestamp (without time zone) time column', (s) => (s.columns[0].type = 'timestamp without time zone')],
    ['a cold-only table with a nonsensical hot section (ignored)', (s) => ((s.mode = 'cold-only'), (s.hot = { chunkInterval: '2d', retention: '1h' }))],
    ['the minimum batchRows', (s) => (s.tiering.batchRows = 1000)],
    ['the maximum batchRows', (s) => (s.tiering.batchRows = 10_000_000)],
    ['a 63-character name', (s) => (s.table = 'a'.repeat(63))],
    ['no optional sections at all', (s) => ['hot', 'cold', 'rollups', 'tiering', 'deletionPolicy'].forEach((k) => delete s[k])],
    ['a hot-only table without rollups', (s) => ((s.mode = 'hot-only'), (s.rollups = []))],
    ['retention equal to chunkInterval', (s) => (s.hot = { chunkInterval: '1d', retention: '24h' })],
    ['a rollup grouping by nothing', (s) => (s.rollups[0].groupBy = [])],
    ['a cluster with - and .', (s) => (s.cold.cluster = 'prod-eu.1')],
    ['numeric(p,s) aggregated', (s) => (s.columns.push({ name: 'price', type: 'numeric(12,3)' }), (s.rollups[0].aggregates.price = ['sum']))],
    ['unknown fields into the labels column', (s) => (s.ingest = { unknownFields: 'labels' })],
    ['unknown fields as new columns, without a labels column', (s) => ((s.columns = s.columns.filter((c: { name: string }) => c.name !== 'labels')), (s.ingest = { unknownFields: 'addColumns' }))],
    ['unknown fields refused', (s) => (s.ingest = { unknownFields: 'reject' })],
    ['an empty ingest section', (s) => (s.ingest = {})],
  ])('%s', (_name, mutate) => {
    const s = base();
    mutate(s);
    const r = validateTieredTable(s);
    expect(r.ok ? [] : r.errors).toEqual([]);
  });
});

// Each bad spec names exactly one field, with a message a user can act on.
describe('invalid specs name the field', () => {
  test.each<[string, (s: Record<string, any>) => void, string, string]>([ // eslint-disable-line @typescript-eslint/no-explicit-any
    ['unknown top-level field', (s) => (s.retention = '1d'), 'retention', 'unknown field "retention"'],
    ['top-level typo gets a suggestion', (s) => (s.tabel = 'x'), 'tabel', 'did you mean "table"?'],
    ['unknown nested field', (s) => (s.hot.retension = '2d'), 'hot.retension', 'did you mean "retention"?'],
    ['unknown column field', (s) => (s.columns[1].nullable = true), 'columns[1].nullable', 'unknown field "nullable"'],
    ['missing required field', (s) => delete s.timeColumn, 'timeColumn', 'is required'],
    ['bad identifier', (s) => (s.table = 'Metrics-Events'), 'table', '"Metrics-Events" is not a valid name: use lower-case letters'],
    ['identifier too long', (s) => (s.table = 'a'.repeat(64)), 'table', 'longer than 63 characters'],
    ['bad column name', (s) => (s.columns[2].name = '2host'), 'columns[2].name', 'is not a valid name'],
    ['reserved word as a column name', (s) => (s.columns[3].name = 'order'), 'columns[3].name', '"order" is a reserved PostgreSQL keyword'],
    ['reserved word as the table name', (s) => (s.table = 'user'), 'table', 'reserved PostgreSQL keyword'],
    ['reserved column prefix', (s) => s.columns.push({ name: '_strata_gen', type: 'bigint' }), 'columns[5].name', 'reserved for Strata'],
    ['time column missing', (s) => (s.timeColumn = 'ts'), 'timeColumn', '"ts" is not a column (columns: time, app, host, labels, value)'],
    ['time column wrong type', (s) => (s.columns[0].type = 'date'), 'timeColumn', 'the time column must be timestamptz or timestamp'],
    ['orderBy unknown column', (s) => (s.cold.orderBy = ['app', 'hots', 'time']), 'cold.orderBy[1]', '"hots" is not a column'],
    ['orderBy repeats a column', (s) => (s.cold.orderBy = ['app', 'app', 'time']), 'cold.orderBy[1]', 'listed twice'],
    ['orderBy empty', (s) => (s.cold.orderBy = []), 'cold.orderBy', 'at least 1 entry'],
    ['aggregate on a text column', (s) => (s.rollups[0].aggregates.app = ['avg', 'count']), 'rollups[0].aggregates.app', 'avg needs a numeric column'],
    ['aggregate on a jsonb column', (s) => (s.rollups[0].aggregates.labels = ['sum', 'max']), 'rollups[0].aggregates.labels', 'sum, max need a numeric column'],
    ['aggregate of an unknown column', (s) => (s.rollups[0].aggregates.val = ['avg']), 'rollups[0].aggregates.val', '"val" is not a column'],
    ['aggregate key that is no identifier', (s) => (s.rollups[0].aggregates['my-col'] = ['avg']), 'rollups[0].aggregates["my-col"]', 'is not a column'],
    ['unknown aggregate', (s) => (s.rollups[0].aggregates.value = ['avg', 'median']), 'rollups[0].aggregates.value[1]', '"median" is not one of: avg, min, max, sum, count'],
    ['repeated aggregate', (s) => (s.rollups[0].aggregates.value = ['avg', 'avg']), 'rollups[0].aggregates.value[1]', 'listed twice'],
    ['no aggregates', (s) => (s.rollups[0].aggregates = {}), 'rollups[0].aggregates', 'at least 1 key'],
    ['groupBy unknown column', (s) => (s.rollups[0].groupBy = ['app', 'hst']), 'rollups[0].groupBy[1]', '"hst" is not a column'],
    ['groupBy the time column', (s) => (s.rollups[0].groupBy = ['time']), 'rollups[0].groupBy[0]', 'is the time column'],
    ['duplicate rollup name', (s) => s.rollups.push({ ...s.rollups[0] }), 'rollups[1].name', 'duplicate rollup name "1m"'],
    ['bad rollup name', (s) => (s.rollups[0].name = 'One-Min'), 'rollups[0].name', 'not a valid rollup name'],
    ['rollup interval of 0s', (s) => (s.rollups[0].interval = '0s'), 'rollups[0].interval', 'must be longer than 0s'],
    ['rollups on a hot-only table', (s) => (s.mode = 'hot-only'), 'rollups', 'a hot-only table cannot have rollups'],
    ['batchRows too small', (s) => (s.tiering.batchRows = 500), 'tiering.batchRows', 'must be between 1000 and 10000000, got number 500'],
    ['batchRows too large', (s) => (s.tiering.batchRows = 10_000_001), 'tiering.batchRows', 'must be between 1000 and 10000000'],
    ['batchRows not an integer', (s) => (s.tiering.batchRows = 1500.5), 'tiering.batchRows', 'must be an integer, got number 1500.5'],
    ['batchRows as a string', (s) => (s.tiering.batchRows = '5000'), 'tiering.batchRows', 'must be an integer, got the string "5000"'],
    ['bad duration', (s) => (s.hot.retention = '1 day'), 'hot.retention', '"1 day" is not a duration like 30s, 5m, 1h, 7d'],
    ['units out of order', (s) => (s.tiering.every = '30s5m'), 'tiering.every', 'is not a duration'],
    ['empty duration', (s) => (s.cold.retention = ''), 'cold.retention', '"" is not a duration'],
    ['zero tiering interval', (s) => (s.tiering.every = '0m'), 'tiering.every', 'must be longer than 0s'],
    ['duplicate column', (s) => s.columns.push({ name: 'app', type: 'text' }), 'columns[5].name', 'duplicate column name "app" (also columns[1])'],
    ['plain numeric', (s) => (s.columns[4].type = 'numeric'), 'columns[4].type', 'use numeric(p,s) with p ≤ 76'],
    ['json instead of jsonb', (s) => (s.columns[3].type = 'json'), 'columns[3].type', 'use jsonb'],
    ['unsupported type', (s) => (s.columns[4].type = 'money'), 'columns[4].type', 'supported types are timestamptz'],
    ['type not a string', (s) => (s.columns[1].type = 5), 'columns[1].type', 'must be a string, got number 5'],
    ['retention shorter than chunkInterval', (s) => (s.hot = { chunkInterval: '2h', retention: '1h' }), 'hot.retention', '1h is shorter than hot.chunkInterval 2h'],
    ['default retention shorter than chunkInterval', (s) => (s.hot = { chunkInterval: '2d' }), 'hot.retention', '24h (the default) is shorter than hot.chunkInterval 2d'],
    ['cold retention shorter than hot retention', (s) => (s.cold.retention = '12h'), 'cold.retention', 'rows would expire in ClickHouse as soon as they arrive'],
    ['unknown mode', (s) => (s.mode = 'tiered'), 'mode', '"tiered" is not one of: hot-only, hot-then-cold, cold-only'],
    ['unknown partitionBy', (s) => (s.cold.partitionBy = 'year'), 'cold.partitionBy', 'is not one of: hour, day, week, month'],
    ['unknown deletionPolicy', (s) => (s.deletionPolicy = 'delete'), 'deletionPolicy', 'is not one of: Retain, Delete'],
    ['bad cluster name', (s) => (s.cold.cluster = 'my cluster'), 'cold.cluster', 'not a ClickHouse cluster name'],
    ['no columns', (s) => (s.columns = []), 'columns', 'must have at least 1 entry'],
    ['columns not a list', (s) => (s.columns = 'time'), 'columns', 'must be a list, got the string "time"'],
    ['hot index on an unknown column', (s) => (s.hot.indexes = [['app'], ['hots']]), 'hot.indexes[1][0]', '"hots" is not a column'],
    ['zero compression age', (s) => (s.hot.compression = { after: '0s' }), 'hot.compression.after', 'must be longer than 0s'],
    ['unknown unknownFields policy', (s) => (s.ingest = { unknownFields: 'columns' }), 'ingest.unknownFields', '"columns" is not one of: labels, addColumns, reject'],
    ['labels policy without a labels column', (s) => ((s.columns[3].name = 'tags'), (s.ingest = { unknownFields: 'labels' })), 'ingest.unknownFields', 'has none'],
    ['labels policy with a text labels column', (s) => ((s.columns[3].type = 'text'), (s.ingest = { unknownFields: 'labels' })), 'ingest.unknownFields', 'jsonb column named labels'],
  ])('%s', (_name, mutate, field, fragment) => {
    const s = base();
    mutate(s);
    const errors = errorsOf(s);
    expect(errors).toEqual([{ field, message: expect.stringContaining(fragment) }]);
  });

  test('a spec that is no object', () => {
    expect(errorsOf('table: x')).toEqual([{ field: '', message: 'must be an object, got the string "table: x"' }]);
    expect(errorsOf(null)).toEqual([{ field: '', message: 'must be an object, got null' }]);
  });

  test('every problem is reported at once', () => {
    const s = base();
    s.hot.retention = 'soon';
    s.tiering.batchRows = 1;
    s.colour = 'blue';
    expect(errorsOf(s).map((e) => e.field).sort()).toEqual(['colour', 'hot.retention', 'tiering.batchRows']);

    const t = base();
    t.timeColumn = 'ts';
    t.columns[4].type = 'numeric';
    t.cold.orderBy = ['hots'];
    expect(errorsOf(t).map((e) => e.field)).toEqual(['columns[4].type', 'timeColumn', 'cold.orderBy[0]']);
  });
});

describe('columnNameProblem', () => {
  test.each([
    ['cpu_temp', undefined],
    ['_x1', undefined],
    ['CPU', 'not a valid column name'],
    ['cpu-temp', 'not a valid column name'],
    ['1st', 'not a valid column name'],
    ['', 'not a valid column name'],
    ['a'.repeat(64), 'longer than 63 characters'],
    ['select', 'reserved PostgreSQL keyword'],
    ['_strata_x', 'reserved for Strata'],
  ])('%j', (name, problem) => {
    const got = columnNameProblem(name);
    if (problem === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(problem);
    // The same verdict as a column of a whole spec.
    const s = base();
    s.columns.push({ name, type: 'text' });
    expect(validateTieredTable(s).ok).toBe(problem === undefined);
  });
});

describe('validateResource', () => {
  const doc = () => parseYaml(DESIGN_EXAMPLE);

  test('returns the defaulted spec', () => {
    expect(validateResource(doc()).tiering).toEqual({ every: '5m', batchRows: 100000 });
  });

  test('prefixes fields with spec. and names the resource', () => {
    const d = doc();
    d.spec.cold.orderBy = ['hots', 'time'];
    let err: unknown;
    try {
      validateResource(d);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TieredTableValidationError);
    const v = err as TieredTableValidationError;
    expect(v.code).toBe('INVALID_SPEC');
    expect(v.errors).toEqual([{ field: 'spec.cold.orderBy[0]', message: expect.stringContaining('"hots" is not a column') }]);
    expect(v.message).toBe('TieredTable "metrics-events" is invalid:\n  spec.cold.orderBy[0]: "hots" is not a column (columns: time, app, host, labels, value)');
  });

  test.each<[string, (d: Record<string, any>) => void, string, string]>([ // eslint-disable-line @typescript-eslint/no-explicit-any
    ['wrong apiVersion', (d) => (d.apiVersion = 'strata.dev/v1'), 'apiVersion', '"strata.dev/v1" is not supported; use strata.dev/v1alpha1'],
    ['missing apiVersion', (d) => delete d.apiVersion, 'apiVersion', 'is required'],
    ['wrong kind', (d) => (d.kind = 'Table'), 'kind', 'must be TieredTable'],
    ['no name', (d) => (d.metadata = {}), 'metadata.name', 'is required'],
    ['no spec', (d) => delete d.spec, 'spec', 'is required'],
    ['spec error', (d) => (d.spec.columns[0].type = 'json'), 'spec.columns[0].type', 'use jsonb'],
    ['spec unknown field', (d) => (d.spec.extra = 1), 'spec.extra', 'unknown field'],
  ])('%s', (_name, mutate, field, fragment) => {
    const d = doc();
    mutate(d);
    expect(() => validateResource(d)).toThrow(TieredTableValidationError);
    try {
      validateResource(d);
    } catch (e) {
      expect((e as TieredTableValidationError).errors).toEqual([{ field, message: expect.stringContaining(fragment) }]);
    }
  });

  test('the error message lists every field error', () => {
    const d = doc();
    d.spec.table = 'Bad';
    d.spec.tiering.every = 'often';
    expect(() => validateResource(d)).toThrow(
      'TieredTable "metrics-events" is invalid:\n' +
        '  spec.table: "Bad" is not a valid name: use lower-case letters, digits and _, starting with a letter or _\n' +
        '  spec.tiering.every: "often" is not a duration like 30s, 5m, 1h, 7d',
    );
  });
});

describe('parseTieredTableDocuments', () => {
  const other = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\ndata: { a: b }\n';
  const tt = (name: string, table: string, extra = '') =>
    `apiVersion: strata.dev/v1alpha1\nkind: TieredTable\nmetadata: { name: ${name} }\nspec:\n  table: ${table}\n  timeColumn: t\n  columns: [{ name: t, type: timestamptz }]\n${extra}`;

  test('reads every TieredTable and skips other kinds and empty documents', () => {
    const docs = parseTieredTableDocuments(`---\n${other}---\n${tt('a', 'table_a')}---\n${tt('b', 'table_b')}---\n`);
    expect(docs.map((d) => [d.metadata.name, d.spec.table])).toEqual([
      ['a', 'table_a'],
      ['b', 'table_b'],
    ]);
    // As written: defaults come from validateResource.
    expect(docs[0].spec.mode).toBeUndefined();
    expect(validateResource(docs[0]).mode).toBe('hot-then-cold');
  });

  test('no documents', () => {
    expect(parseTieredTableDocuments('')).toEqual([]);
    expect(parseTieredTableDocuments(other)).toEqual([]);
  });

  test.each([
    ['bad apiVersion', tt('a', 'x').replace('strata.dev/v1alpha1', 'strata.dev/v2'), 'document 1 (TieredTable "a") is invalid', 'apiVersion: "strata.dev/v2" is not supported; use strata.dev/v1alpha1'],
    ['an unknown strata.dev kind', 'apiVersion: strata.dev/v1alpha1\nkind: TieredTabel\nmetadata: { name: a }\n', 'document 1 is invalid', 'kind: "TieredTabel" is not a strata.dev kind; expected TieredTable'],
    ['a bad second document', `${other}---\n${tt('b', 'x', '  mode: warm\n')}`, 'document 2 (TieredTable "b") is invalid', 'spec.mode: "warm" is not one of'],
    ['YAML syntax', `${tt('a', 'x')}  columns: [\n`, 'document 1 is invalid', 'not valid YAML'],
    ['a scalar document', 'just text\n', 'document 1 is invalid', 'is not a Kubernetes object'],
    ['two documents with one name', `${tt('a', 'x')}---\n${tt('a', 'y')}`, 'document 2 (TieredTable "a") is invalid', 'metadata.name: "a" is also the name of document 1'],
    ['two documents with one table', `${tt('a', 'x')}---\n${tt('b', 'x')}`, 'document 2 (TieredTable "b") is invalid', 'spec.table: table public.x is also defined by document 1'],
  ])('%s', (_name, text, subject, fragment) => {
    expect(() => parseTieredTableDocuments(text)).toThrow(TieredTableValidationError);
    expect(() => parseTieredTableDocuments(text)).toThrow(subject);
    expect(() => parseTieredTableDocuments(text)).toThrow(fragment);
  });
});

describe('examples/tieredtables.yaml', () => {
  const docs = parseTieredTableDocuments(readFileSync(resolve(__dirname, '../../../examples/tieredtables.yaml'), 'utf8'));

  test('holds the seed tables, and each validates', () => {
    expect(docs.map((d) => d.metadata.name)).toEqual(['metrics-events', 'logs-events', 'observability-events']);
    const [metrics, logs, observability] = docs.map((d) => validateResource(d));
    expect(metrics).toMatchObject({
      table: 'metrics_events',
      mode: 'hot-then-cold',
      timeColumn: 'time',
      cold: { orderBy: ['app', 'host', 'time'], partitionBy: 'day', retention: '90d' },
      tiering: { every: '5m', batchRows: 100000 },
    });
    expect(metrics.columns.map((c) => c.name)).toEqual(['time', 'app', 'host', 'labels', 'value', 'trace_id', 'level']);
    expect(metrics.rollups).toEqual([{ name: '1m', interval: '1m', groupBy: ['app', 'host'], aggregates: { value: ['avg', 'min', 'max', 'sum', 'count'] } }]);
    expect(logs).toMatchObject({ table: 'logs_events', mode: 'cold-only', timeColumn: 'timestamp', cold: { orderBy: ['timestamp', 'app'], partitionBy: 'month' } });
    expect(logs.columns.map((c) => c.name)).toEqual(['timestamp', 'app', 'host', 'trace_id', 'message', 'labels']);
    expect(observability).toMatchObject({ table: 'observability_events', mode: 'hot-then-cold', timeColumn: 'event_time', cold: { orderBy: ['node', 'event_time'] } });
    expect(observability.columns.map((c) => c.name)).toEqual(['event_time', 'node', 'source_type', 'message', 'raw']);
  });
});
