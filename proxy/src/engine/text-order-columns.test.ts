import type { CatalogSnapshot, TieredRelation } from '../router/catalog-snapshot';
import { withTextOrder, type ColumnCollation } from './text-order-columns';

const columns = [
  { name: 'time', pgType: 'timestamp with time zone', kind: 'timestamptz' as const },
  { name: 'host', pgType: 'text', kind: 'text' as const },
  { name: 'app', pgType: 'text', kind: 'text' as const },
];
const table = (name: string, mode: TieredRelation['mode']): TieredRelation => ({ schema: 'public', table: name, timeColumn: 'time', mode, columns });
const bytewise = (s: CatalogSnapshot, name: string) => Object.fromEntries(s.tables.find((t) => t.table === name)!.columns.map((c) => [c.name, c.bytewise]));

describe('withTextOrder: which text columns PostgreSQL orders byte-wise', () => {
  const snapshot: CatalogSnapshot = {
    tables: [table('hot_t', 'hot-then-cold'), table('cold_t', 'cold-only'), table('other_t', 'hot-then-cold')],
    textOrder: { defaultBytewise: true, cUtf8Bytewise: true },
  };
  const collations = new Map<string, Map<string, ColumnCollation>>([
    ['hot_t', new Map([['time', { provider: null, locale: null }], ['host', { provider: 'd', locale: null }], ['app', { provider: 'i', locale: null }]])],
  ]);

  it('a hot table by its columns’ collations, a cold-only one by the default, others untouched', () => {
    const s = withTextOrder(snapshot, collations);
    expect(bytewise(s, 'hot_t')).toEqual({ time: undefined, host: true, app: false });
    expect(bytewise(s, 'cold_t')).toEqual({ time: undefined, host: true, app: true });
    expect(bytewise(s, 'other_t')).toEqual({ time: undefined, host: undefined, app: undefined });
  });

  it('a hot table’s text columns nondeterministic unless their collation is known to be deterministic', () => {
    const withDeterminism = new Map<string, Map<string, ColumnCollation>>([
      [
        'hot_t',
        new Map([
          ['time', { provider: null, locale: null, deterministic: null }],
          ['host', { provider: 'd', locale: null, deterministic: true }],
          ['app', { provider: 'i', locale: 'und-u-ks-level2', deterministic: false }],
        ]),
      ],
    ]);
    const s = withTextOrder(snapshot, withDeterminism);
    const marks = (name: string) => Object.fromEntries(s.tables.find((t) => t.table === name)!.columns.map((c) => [c.name, c.nondeterministic]));
    expect(marks('hot_t')).toEqual({ time: undefined, host: false, app: true });
    // Cold-only: the database default, which PostgreSQL never lets be nondeterministic.
    expect(marks('cold_t')).toEqual({ time: undefined, host: undefined, app: undefined });
    // Tables the statement does not read are left as they are.
    expect(marks('other_t')).toEqual({ time: undefined, host: undefined, app: undefined });
  });

  it('text columns folded as the database (default collation) or as ASCII (LC_CTYPE C/POSIX), others not known', () => {
    const folding = new Map<string, Map<string, ColumnCollation>>([
      [
        'hot_t',
        new Map([
          ['time', { provider: null, locale: null, ctype: null }],
          ['host', { provider: 'd', locale: null, ctype: null }],
          ['app', { provider: 'c', locale: 'C', ctype: 'C' }],
        ]),
      ],
      ['other_t', new Map([['host', { provider: 'i', locale: 'en', ctype: 'en' }], ['app', { provider: 'c', locale: 'C', ctype: 'en_US.utf8' }]])],
    ]);
    const rollup: TieredRelation = { ...table('hot_t__rollup_hourly', 'cold-only'), rollupOf: { table: 'hot_t', rollup: 'hourly', groupBy: ['host'] } };
    const s = withTextOrder({ ...snapshot, tables: [...snapshot.tables, rollup] }, folding);
    const marks = (name: string) => Object.fromEntries(s.tables.find((t) => t.table === name)!.columns.map((c) => [c.name, c.caseFolding]));
    expect(marks('hot_t')).toEqual({ time: undefined, host: 'database', app: 'ascii' });
    // A rollup's rows reach PostgreSQL as text of the default collation.
    expect(marks('hot_t__rollup_hourly')).toEqual({ time: undefined, host: 'database', app: 'database' });
    expect(marks('cold_t')).toEqual({ time: undefined, host: 'database', app: 'database' });
    // ICU, and a libc collation ordering as C but folding by another LC_CTYPE.
    expect(marks('other_t')).toEqual({ time: undefined, host: undefined, app: undefined });
  });

  it('nothing byte-ordered where the default is not (or not probed)', () => {
    for (const textOrder of [{ defaultBytewise: false, cUtf8Bytewise: false }, undefined]) {
      const s = withTextOrder({ ...snapshot, textOrder }, collations);
      expect(bytewise(s, 'hot_t')).toEqual({ time: undefined, host: false, app: false });
      expect(bytewise(s, 'cold_t')).toEqual({ time: undefined, host: false, app: false });
    }
  });
});
