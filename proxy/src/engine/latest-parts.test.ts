import { validateTieredTable } from '@strata/core';
import { catalogSnapshot } from '../router/catalog-snapshot';
import { loadSqlParser, parseStatements } from '../router/sql-parser';
import { instantFromEpochText } from '../translate/instant';
import { LATEST_PARTS_SETTINGS, readsLatestParts } from './latest-parts';
import { coldQuery, planStatement } from './plan';
import type { OrderKey } from './top-n';

/**
 * Top-N's order keys as data (top-n.ts), and the latest-parts read (latest-parts.ts)
 * decided from them: one key, on the time column leading the cold sort key.
 */
function snapshotOf(table: string, coldOrderBy: string[]) {
  const r = validateTieredTable({
    table,
    timeColumn: 'time',
    columns: [
      { name: 'time', type: 'timestamptz' },
      { name: 'host', type: 'text' },
      { name: 'n', type: 'integer' },
      { name: 'v', type: 'double precision' },
    ],
    cold: { orderBy: coldOrderBy },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return catalogSnapshot([r.spec]);
}

const byTime = snapshotOf('logs', ['time', 'host']);
const byHost = snapshotOf('logs', ['host', 'time']);

beforeAll(() => loadSqlParser());

function topNRead(sql: string, snapshot = byTime) {
  const p = planStatement(parseStatements(sql)[0].stmt, snapshot, { utc: true, includeHot: true });
  const occ = p.occurrences[0];
  const at = instantFromEpochText('1767571200');
  const q = coldQuery(occ, [], at, '`_strata_gen` <= 3', 'strata');
  return { keys: occ.topN?.keys, latestParts: occ.topN ? readsLatestParts(occ.relation, occ.topN) : undefined, sql: q.sql };
}

const key = (column: string, direction: 'ASC' | 'DESC', nullsFirst: boolean, float = false): OrderKey => ({ column, direction, nullsFirst, float });

describe('top-N order keys and the latest-parts read', () => {
  const cases: Array<[string, string, OrderKey[], string, boolean]> = [
    ['the latest rows', 'SELECT * FROM logs ORDER BY time DESC LIMIT 100', [key('time', 'DESC', true)], '`time` DESC NULLS FIRST', true],
    ['the earliest rows, NULLs first', 'SELECT * FROM logs ORDER BY time NULLS FIRST LIMIT 5', [key('time', 'ASC', true)], '`time` ASC NULLS FIRST', true],
    ['a text tie-breaker is left to PostgreSQL', 'SELECT * FROM logs ORDER BY time DESC, host LIMIT 5', [key('time', 'DESC', true)], '`time` DESC NULLS FIRST', true],
    ['a second key ClickHouse orders', 'SELECT * FROM logs ORDER BY time DESC, n LIMIT 5', [key('time', 'DESC', true), key('n', 'ASC', false)], '`time` DESC NULLS FIRST, `n` ASC NULLS LAST', false],
    ['another key first', 'SELECT * FROM logs ORDER BY n DESC, time LIMIT 5', [key('n', 'DESC', true), key('time', 'ASC', false)], '`n` DESC NULLS FIRST, `time` ASC NULLS LAST', false],
    [
      'a float key with NULLs where PostgreSQL is told to put them',
      'SELECT * FROM logs ORDER BY v DESC NULLS LAST LIMIT 5',
      [key('v', 'DESC', false, true)],
      'isNull(`v`) ASC, isNaN(`v`) DESC, `v` DESC',
      false,
    ],
  ];
  it.each(cases)('%s', (_name, sql, keys, orderBy, latestParts) => {
    const r = topNRead(sql);
    expect(r.keys).toEqual(keys);
    expect(r.latestParts).toBe(latestParts);
    expect(r.sql).toContain(` ORDER BY ${orderBy} LIMIT `);
    expect(r.sql.endsWith(` SETTINGS ${LATEST_PARTS_SETTINGS}`)).toBe(latestParts);
  });

  it('not where the cold sort key starts with another column', () => {
    const r = topNRead('SELECT * FROM logs ORDER BY time DESC LIMIT 100', byHost);
    expect(r.keys).toEqual([key('time', 'DESC', true)]);
    expect(r.latestParts).toBe(false);
    expect(r.sql).not.toContain(LATEST_PARTS_SETTINGS);
  });
});
