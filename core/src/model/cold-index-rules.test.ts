import { validateTieredTable } from './validate';

function errorsOf(indexes: unknown[], columns: unknown[] = []): string[] {
  const r = validateTieredTable({
    table: 'logs',
    timeColumn: 'time',
    columns: [
      { name: 'time', type: 'timestamptz' },
      { name: 'msg', type: 'text' },
      { name: 'host', type: 'text', notNull: true },
      { name: 'n', type: 'integer' },
      ...columns,
    ],
    cold: { indexes },
  });
  return r.ok ? [] : r.errors.map((e) => `${e.field}: ${e.message}`);
}

describe('spec.cold.indexes validation', () => {
  it('accepts each type with its arguments, over a column or lower()/upper()', () => {
    expect(
      errorsOf([
        { name: 'msg_text', column: 'msg', type: 'text' },
        { name: 'msg_lower', expression: 'lower(msg)', type: 'text', tokenizer: 'splitByNonAlpha', granularity: 1 },
        { name: 'host_ngram', column: 'host', type: 'ngrambf_v1', params: [3, 1024, 2, 0], granularity: 4 },
        { name: 'host_token', expression: 'upper(host)', type: 'tokenbf_v1', params: [1024, 3, 0] },
        { name: 'host_bloom', column: 'host', type: 'bloom_filter', params: [0.01] },
        { name: 'n_set', column: 'n', type: 'set', params: [100] },
        { name: 'n_minmax', column: 'n', type: 'minmax' },
      ]),
    ).toEqual([]);
  });

  it.each([
    [[{ name: 'i', column: 'nope', type: 'minmax' }], 'cold.indexes[0].column: "nope" is not a column'],
    [[{ name: 'i', expression: 'lower(nope)', type: 'text' }], 'cold.indexes[0].expression: "nope" is not a column'],
    [[{ name: 'i', expression: 'msg || host', type: 'text' }], 'cold.indexes[0].expression: "msg || host" is not an index expression'],
    [[{ name: 'i', type: 'minmax' }], 'cold.indexes[0]: give either column or expression'],
    [[{ name: 'i', column: 'msg', expression: 'lower(msg)', type: 'text' }], 'cold.indexes[0]: give either column or expression'],
    [[{ name: 'i', column: 'msg', type: 'fulltext' }], 'cold.indexes[0].type: "fulltext" is not one of: minmax, set, bloom_filter, tokenbf_v1, ngrambf_v1, text'],
    [[{ name: 'i', column: 'msg', type: 'ngrambf_v1', params: [3, 1024, 2, 0] }], 'cold.indexes[0].type: ngrambf_v1 needs a notNull column'],
    [[{ name: 'i', column: 'n', type: 'tokenbf_v1', params: [1024, 2, 0] }], 'cold.indexes[0].type: tokenbf_v1 indexes text, and "n" is integer'],
    [[{ name: 'i', column: 'host', type: 'ngrambf_v1', params: [3, 1024] }], 'cold.indexes[0].params: ngrambf_v1 takes [n, bytes, hashes, seed]'],
    [[{ name: 'i', column: 'host', type: 'set' }], 'cold.indexes[0].params: set takes [maxRows]'],
    [[{ name: 'i', column: 'host', type: 'bloom_filter', params: [2] }], 'cold.indexes[0].params: bloom_filter takes [] or [falsePositiveRate]'],
    [[{ name: 'i', column: 'host', type: 'minmax', params: [1] }], 'cold.indexes[0].params: minmax takes no params'],
    [[{ name: 'i', column: 'host', type: 'minmax', tokenizer: 'array' }], 'cold.indexes[0].tokenizer: only a text index has a tokenizer'],
    [[{ name: 'i', column: 'n', type: 'text' }], 'cold.indexes[0].type: a text index indexes text, and "n" is integer'],
    [[{ name: 'i', expression: 'lower(n)', type: 'minmax' }], 'cold.indexes[0].expression: lower(n): "n" is integer, not text'],
    [[{ name: 'i', column: 'msg', type: 'text' }, { name: 'i', column: 'host', type: 'text' }], 'cold.indexes[1].name: duplicate index name "i"'],
    [[{ name: '_strata_x', column: 'msg', type: 'text' }], "cold.indexes[0].name: names starting with _strata are reserved"],
    [[{ name: 'i', column: 'msg', type: 'text', granularity: 0 }], 'cold.indexes[0].granularity: must be between 1 and 1000000000'],
  ])('%j', (indexes, message) => {
    expect(errorsOf(indexes).join('\n')).toContain(message);
  });

  it('refuses indexes on a hot-only table', () => {
    const r = validateTieredTable({ table: 't', timeColumn: 'time', mode: 'hot-only', columns: [{ name: 'time', type: 'timestamptz' }], cold: { indexes: [{ name: 'i', column: 'time', type: 'minmax' }] } });
    expect(r.ok ? [] : r.errors.map((e) => e.message)).toEqual(['a hot-only table has no cold tier to index']);
  });
});
