import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { buildCrd, CRD_HEADER, renderCrdYaml } from './crd';
import { TIERED_TABLE_DEFAULTS } from './defaults';
import { tieredTableSpecSchema, type OpenApiSchema } from './schema';

const CRD_FILE = resolve(__dirname, '../../../crds/tieredtables.strata.dev.yaml');

describe('crds/tieredtables.strata.dev.yaml', () => {
  test('is what the generator prints now', () => {
    const committed = readFileSync(CRD_FILE, 'utf8');
    if (committed !== renderCrdYaml()) {
      throw new Error('crds/tieredtables.strata.dev.yaml is out of date with core/src/model: run `make crd` (after `make build`)');
    }
    expect(committed.startsWith(CRD_HEADER)).toBe(true);
  });
});

describe('buildCrd', () => {
  // Read back from YAML, as kubectl would.
  const crd = parseYaml(renderCrdYaml());
  const version = crd.spec.versions[0];
  const root: OpenApiSchema = version.schema.openAPIV3Schema;

  test('names the resource as kubectl users type it', () => {
    expect(crd.metadata.name).toBe('tieredtables.strata.dev');
    expect(crd.spec.group).toBe('strata.dev');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({ kind: 'TieredTable', plural: 'tieredtables', singular: 'tieredtable', shortNames: ['tt'] });
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({ name: 'v1alpha1', served: true, storage: true });
  });

  test('has a status subresource, so spec and status are written apart', () => {
    expect(version.subresources).toEqual({ status: {} });
    expect(Object.keys(root.properties!.status.properties!)).toEqual(
      expect.arrayContaining(['observedGeneration', 'watermark', 'conditions', 'lastTiering', 'rowsHot', 'rowsCold', 'lagSeconds']),
    );
  });

  test('prints TABLE, MODE, WATERMARK, LAG, READY, AGE', () => {
    expect(version.additionalPrinterColumns.map((c: { name: string; type: string; jsonPath: string }) => [c.name, c.type, c.jsonPath])).toEqual([
      ['TABLE', 'string', '.spec.table'],
      ['MODE', 'string', '.spec.mode'],
      ['WATERMARK', 'string', '.status.watermark'],
      ['LAG', 'integer', '.status.lagSeconds'],
      ['READY', 'string', '.status.conditions[?(@.type=="Ready")].status'],
      ['AGE', 'date', '.metadata.creationTimestamp'],
    ]);
  });

  test('is structural: every node typed, no additionalProperties: false, no uniqueItems', () => {
    const problems: string[] = [];
    const walk = (s: OpenApiSchema, path: string) => {
      if (!s.type) problems.push(`${path}: no type`);
      if (s.additionalProperties === false) problems.push(`${path}: additionalProperties false`);
      if ('uniqueItems' in s) problems.push(`${path}: uniqueItems`);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
      if (s.items) walk(s.items, `${path}[]`);
      if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${path}{}`);
    };
    walk(root, '');
    expect(problems).toEqual([]);
  });

  test('marks table, schema, timeColumn and mode immutable', () => {
    const spec = root.properties!.spec.properties!;
    for (const f of ['table', 'schema', 'timeColumn', 'mode']) {
      expect(spec[f]['x-kubernetes-validations']).toContainEqual({ rule: 'self == oldSelf', message: `${f} is immutable` });
      expect(spec[f].description).toContain('Immutable');
    }
  });

  test('lets the API server fill in the same defaults as withDefaults', () => {
    const spec = root.properties!.spec.properties!;
    expect(spec.schema.default).toBe(TIERED_TABLE_DEFAULTS.schema);
    expect(spec.mode.default).toBe(TIERED_TABLE_DEFAULTS.mode);
    expect(spec.deletionPolicy.default).toBe(TIERED_TABLE_DEFAULTS.deletionPolicy);
    expect(spec.hot.properties!.chunkInterval.default).toBe(TIERED_TABLE_DEFAULTS.hot.chunkInterval);
    expect(spec.hot.properties!.retention.default).toBe(TIERED_TABLE_DEFAULTS.hot.retention);
    // Derived from orderBy and retention (defaultPartitionBy): a schema default would be stored in every object, whatever those say.
    expect(spec.cold.properties!.partitionBy.default).toBeUndefined();
    expect(spec.tiering.properties!.every.default).toBe(TIERED_TABLE_DEFAULTS.tiering.every);
    expect(spec.tiering.properties!.batchRows.default).toBe(TIERED_TABLE_DEFAULTS.tiering.batchRows);
  });

  test('columns and rollups are maps keyed by name, so the API server refuses duplicates', () => {
    const spec = root.properties!.spec.properties!;
    for (const f of ['columns', 'rollups']) {
      expect(spec[f]['x-kubernetes-list-type']).toBe('map');
      expect(spec[f]['x-kubernetes-list-map-keys']).toEqual(['name']);
    }
  });

  test('spec.connection.secretRef names a Secret, in the CRD only (core\'s table model has no connection)', () => {
    const spec = root.properties!.spec;
    expect(spec.properties!.connection.properties!.secretRef).toMatchObject({ type: 'object', required: ['name'] });
    expect(tieredTableSpecSchema.properties!.connection).toBeUndefined();
  });

  test('refuses with transition rules what planChanges refuses: cold layout changes and removed columns', () => {
    const spec = root.properties!.spec.properties!;
    const rules = (s: OpenApiSchema) => (s['x-kubernetes-validations'] ?? []).map((r) => r.rule);
    for (const f of ['partitionBy', 'orderBy', 'cluster']) expect(rules(spec.cold.properties![f])).toContain('self == oldSelf');
    expect(rules(spec.columns)).toContain('oldSelf.all(o, self.exists(c, c.name == o.name))');
    // Only in the CRD: the CLI compares with the catalog (planChanges) instead.
    expect(tieredTableSpecSchema.properties!.columns['x-kubernetes-validations']).toBeUndefined();
  });

  test('buildCrd returns a fresh object each time', () => {
    const a = buildCrd();
    a.spec.versions[0].additionalPrinterColumns.pop();
    expect(buildCrd().spec.versions[0].additionalPrinterColumns).toHaveLength(6);
  });
});
