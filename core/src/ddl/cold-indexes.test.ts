import type { TieredTableSpec } from '../model/tiered-table';
import { planChanges } from '../provision/plan-changes';
import * as ch from './clickhouse';

const spec: TieredTableSpec = {
  table: 'logs',
  schema: 'public',
  timeColumn: 'time',
  columns: [
    { name: 'time', type: 'timestamptz' },
    { name: 'host', type: 'text', notNull: true },
    { name: 'msg', type: 'text' },
  ],
  mode: 'hot-then-cold',
  hot: { chunkInterval: '1h', retention: '24h' },
  cold: {
    orderBy: ['host', 'time'],
    partitionBy: 'day',
    indexes: [
      { name: 'msg_text', column: 'msg', type: 'text' },
      { name: 'msg_lower', expression: 'lower(msg)', type: 'text', tokenizer: 'array', granularity: 1 },
      { name: 'host_ngram', column: 'host', type: 'ngrambf_v1', params: [3, 1024, 2, 0], granularity: 4 },
      { name: 'host_bloom', column: 'host', type: 'bloom_filter' },
    ],
  },
  rollups: [],
  tiering: { every: '5m', batchRows: 100000 },
  deletionPolicy: 'Retain',
};
const target = { database: 'db' };

describe('spec.cold.indexes DDL', () => {
  it('declares each index in CREATE TABLE, after the generation index', () => {
    const sql = ch.createRawTableSql(spec, target);
    expect(sql).toContain(
      [
        "  INDEX `_strata_gen_idx` `_strata_gen` TYPE minmax GRANULARITY 1,",
        "  INDEX `msg_text` `msg` TYPE text(tokenizer = 'splitByNonAlpha'),",
        "  INDEX `msg_lower` lower(`msg`) TYPE text(tokenizer = 'array') GRANULARITY 1,",
        '  INDEX `host_ngram` `host` TYPE ngrambf_v1(3, 1024, 2, 0) GRANULARITY 4,',
        '  INDEX `host_bloom` `host` TYPE bloom_filter',
      ].join('\n'),
    );
  });

  it('adds, drops and materializes with ALTER TABLE, ON CLUSTER when clustered', () => {
    const ix = spec.cold.indexes![2];
    expect(ch.addColdIndexSql(spec, ix, target)).toBe('ALTER TABLE `db`.`logs` ADD INDEX IF NOT EXISTS `host_ngram` `host` TYPE ngrambf_v1(3, 1024, 2, 0) GRANULARITY 4');
    expect(ch.dropColdIndexSql(spec, 'host_ngram', { database: 'db', cluster: 'c1' })).toBe('ALTER TABLE `db`.`logs` ON CLUSTER `c1` DROP INDEX IF EXISTS `host_ngram`');
    expect(ch.materializeColdIndexSql(spec, 'host_ngram', target)).toBe('ALTER TABLE `db`.`logs` MATERIALIZE INDEX `host_ngram`');
  });

  it('plans an added, a changed and a dropped index; a changed one is dropped and added', () => {
    const [text, lower, ngram] = spec.cold.indexes!;
    const next: TieredTableSpec = {
      ...spec,
      cold: { ...spec.cold, indexes: [text, lower, { ...ngram, params: [4, 1024, 2, 0] }, { name: 'host_set', column: 'host', type: 'set', params: [0] }] },
    };
    const plan = planChanges(spec, next);
    expect(plan).toMatchObject({ unchanged: false, refusals: [], addColdIndexes: ['host_ngram', 'host_set'], dropColdIndexes: ['host_ngram', 'host_bloom'] });
    expect(planChanges(spec, { ...spec, cold: { ...spec.cold, indexes: [...spec.cold.indexes!] } })).toMatchObject({ unchanged: true, addColdIndexes: [], dropColdIndexes: [] });
  });
});
