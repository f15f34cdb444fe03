import { splitStatements } from './split-statements';

describe('splitStatements', () => {
  it.each([
    ['SELECT 1', ['SELECT 1']],
    ['SELECT 1; SELECT 2;', ['SELECT 1', ' SELECT 2']],
    ["SELECT ';'; SELECT 'it''s;'", ["SELECT ';'", " SELECT 'it''s;'"]],
    ["SELECT E'\\';'; SELECT 2", ["SELECT E'\\';'", ' SELECT 2']],
    ['SELECT ";"; SELECT 2', ['SELECT ";"', ' SELECT 2']],
    ['SELECT $$a;b$$; SELECT $x$;$x$', ['SELECT $$a;b$$', ' SELECT $x$;$x$']],
    ['SELECT 1 -- c;\n; SELECT 2', ['SELECT 1 -- c;\n', ' SELECT 2']],
    ['/* a; /* b; */ */ SELECT 1; ;;', ['/* a; /* b; */ */ SELECT 1']],
    ['-- ping', ['-- ping']],
    ['   ', []],
    ['; -- only comments;', []],
  ])('%j', (sql, expected) => {
    expect(splitStatements(sql)).toEqual(expected);
  });
});
