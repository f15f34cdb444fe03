import { likePatternToClickHouse } from './like-pattern';

describe('likePatternToClickHouse', () => {
  it.each([
    ['abc', '\\', 'abc'],
    ['a%b_c', '\\', 'a%b_c'],
    ['a\\%b', '\\', 'a\\%b'], // escaped %: literal in both
    ['a\\_b', '\\', 'a\\_b'],
    ['a\\\\b', '\\', 'a\\\\b'], // escaped backslash
    ['a\\bc', '\\', 'abc'], // PostgreSQL: \b is b; ClickHouse would not read it so
    ['a#%b#_#', '#', undefined], // ends with the escape: PostgreSQL raises an error
    ['a#%b#_c', '#', 'a\\%b\\_c'],
    ['a\\b', '#', 'a\\\\b'], // backslash is a literal under another escape
    ['a\\b%', '', 'a\\\\b%'], // ESCAPE '': no escape character
    ['x\\', '\\', undefined],
    ['ab', '##', undefined], // PostgreSQL: invalid escape string
    ['日本_%', '\\', '日本_%'],
  ])('%j ESCAPE %j → %j', (pattern, escape, expected) => {
    expect(likePatternToClickHouse(pattern, escape)).toBe(expected);
  });
});
