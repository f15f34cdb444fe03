import { coldDeleteConditionSql, coldDeleteFromRow, coldDeletesFilterSql, ColdDeleteError, renderColdDeletePredicate } from './cold-deletes';

const DT = "DateTime64(6, 'UTC')";

describe('cold delete predicates', () => {
  it.each([
    ['1', {}, '1'],
    ['`host` = {d0:String}', { d0: "h'1\\" }, "`host` = CAST('h\\'1\\\\', 'String')"],
    [
      `(\`time\` >= {d0:${DT}} AND \`time\` < {d1:${DT}})`,
      { d0: '2026-01-01 20:00:00.000000', d1: '2026-01-02 04:00:00.000000' },
      `(\`time\` >= CAST('2026-01-01 20:00:00.000000', '${"DateTime64(6, \\'UTC\\')"}') AND \`time\` < CAST('2026-01-02 04:00:00.000000', '${"DateTime64(6, \\'UTC\\')"}'))`,
    ],
    ['`value` >= {d0:Float64} AND `n` NOT IN ({d1:Int64}, {d2:Int64})', { d0: '95.5', d1: '-3', d2: 7 }, "`value` >= CAST('95.5', 'Float64') AND `n` NOT IN (CAST('-3', 'Int64'), CAST('7', 'Int64'))"],
    ['(JSONExtractString(`labels`, {d0:String}) = {d1:String})', { d0: 'env', d1: 'prod' }, "(JSONExtractString(`labels`, CAST('env', 'String')) = CAST('prod', 'String'))"],
    ['(NOT `level` IS NULL) OR `a\\`b` LIKE {d0:String}', { d0: 'x%' }, "(NOT `level` IS NULL) OR `a\\`b` LIKE CAST('x%', 'String')"],
    [
      '(NOT match(`msg`, {d0:String})) AND positionUTF8(lower(`msg`), {d1:String}) > {d2:Int64} AND startsWith(`msg`, {d3:String})',
      { d0: '^GET', d1: 'err', d2: '0', d3: 'x' },
      "(NOT match(`msg`, CAST('^GET', 'String'))) AND positionUTF8(lower(`msg`), CAST('err', 'String')) > CAST('0', 'Int64') AND startsWith(`msg`, CAST('x', 'String'))",
    ],
  ])('renders %s with its values inlined', (predicate, params, expected) => {
    expect(renderColdDeletePredicate({ predicate, params })).toBe(expected);
  });

  it.each([
    ['`host` = {d0:String}', {}, 'missing parameter'],
    ['`host` = {d0:Array(String)}', { d0: 'x' }, 'type the translator never binds'],
    ['`n` = {d0:Int64}', { d0: '1 OR 1' }, 'value not of its type'],
    ['`t` < {d0:' + DT + '}', { d0: "2026-01-01') OR (1" }, 'value not of its type'],
    ["`host` = 'h1'", {}, 'a literal'],
    ['`host` IN (SELECT host FROM system.tables)', {}, 'a subquery'],
    ['sleep(3) = 0', {}, 'a function of the writer\'s choosing'],
    ['1; DROP TABLE x', {}, 'a second statement'],
    ['1 -- comment', {}, 'a comment'],
    ['(1', {}, 'unbalanced parentheses'],
    [')1(', {}, 'unbalanced parentheses'],
    ['   ', {}, 'nothing'],
    ['2 = 2', {}, 'a number other than 0 and 1'],
  ])('refuses %s (%s)', (predicate, params, _why) => {
    expect(() => renderColdDeletePredicate({ predicate, params: params as Record<string, string> })).toThrow(ColdDeleteError);
  });

  it('deletes only rows of generations up to max_gen for which the predicate is true', () => {
    expect(coldDeleteConditionSql({ predicate: '1', params: {}, maxGen: 7n })).toBe('(`_strata_gen` <= 7 AND ifNull((1), 0))');
    expect(coldDeletesFilterSql([])).toBe('1');
    expect(
      coldDeletesFilterSql([
        { predicate: '1', params: {}, maxGen: 3n },
        { predicate: '`host` = {d0:String}', params: { d0: 'h1' }, maxGen: 5n },
      ]),
    ).toBe("NOT (`_strata_gen` <= 3 AND ifNull((1), 0)) AND NOT (`_strata_gen` <= 5 AND ifNull((`host` = CAST('h1', 'String')), 0))");
  });

  it('reads a catalog row as text', () => {
    expect(coldDeleteFromRow(['12', 'metrics_events', '1', '{"d0": "x"}', '40'])).toEqual({
      id: '12',
      table: 'metrics_events',
      predicate: '1',
      params: { d0: 'x' },
      maxGen: 40n,
    });
  });
});
