import { validateTieredTable } from '../model/validate';
import { createVisibleViewSql, visibleViewName } from './visible-view';

const spec = (() => {
  const r = validateTieredTable({
    table: 'observability_events',
    timeColumn: 'event_time',
    columns: [
      { name: 'event_time', type: 'timestamptz' },
      { name: 'node', type: 'text' },
    ],
    cold: { orderBy: ['node', 'event_time'] },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
})();

describe('createVisibleViewSql', () => {
  test('the committed generations, without the excluded ones, and the table columns only', () => {
    expect(visibleViewName(spec)).toBe('observability_events_visible');
    expect(createVisibleViewSql(spec, { database: 'strata' }, { committedGen: 7n, excludedGens: [3n, 5n] })).toBe(
      'CREATE OR REPLACE VIEW `strata`.`observability_events_visible` AS SELECT `event_time`, `node` FROM `strata`.`observability_events` WHERE `_strata_gen` <= 7 AND `_strata_gen` NOT IN (3, 5)',
    );
  });

  test('cold deletes not yet applied are filtered; ON CLUSTER for clusters', () => {
    const sql = createVisibleViewSql(spec, { database: 'strata', cluster: 'c1' }, { committedGen: 2n, excludedGens: [] }, [
      { predicate: '`node` = {p0:String}', params: { p0: 'node-1' }, maxGen: 2n },
    ]);
    expect(sql).toBe(
      "CREATE OR REPLACE VIEW `strata`.`observability_events_visible` ON CLUSTER `c1` AS SELECT `event_time`, `node` FROM `strata`.`observability_events` WHERE `_strata_gen` <= 2 AND NOT (`_strata_gen` <= 2 AND ifNull((`node` = CAST('node-1', 'String')), 0))",
    );
  });
});
