import { isPortableRegex } from './regex-subset';

describe('isPortableRegex: patterns where PostgreSQL ARE and re2 provably agree', () => {
  it.each([
    'error',
    '^GET /api',
    'timeout$',
    'a.b',
    'ab*c+d?',
    '(foo|bar)+baz',
    '^(a|b)$|^c$',
    '[a-z0-9]+',
    '[^a-f]',
    '[A-Z_.]x',
    '\\.\\*\\(\\)\\[\\]\\{\\}\\\\\\/\\-',
    'status=5[0-9][0-9]',
    'user@host: ok',
  ])('accepts %s', (p) => {
    expect(isPortableRegex(p)).toBe(true);
  });

  it.each([
    ['', 'empty'],
    ['\\d+', 'class escapes follow the locale in PostgreSQL'],
    ['\\w', 'class escapes'],
    ['\\s', 'class escapes'],
    ['a\\b', '\\b is a backspace in ARE, a word boundary in re2'],
    ['(a)\\1', 'back-references'],
    ['a{2}', 'bounds'],
    ['a{2,3}', 'bounds'],
    ['(?i)a', 'embedded options'],
    ['(?=a)', 'look-ahead'],
    ['(?:a)', 'non-capturing groups'],
    ['***:a', 'directors'],
    ['a*?', 'non-greedy'],
    ['a**', 'double quantifier'],
    ['*a', 'quantifier without an atom'],
    ['a||b', 'empty branch'],
    ['()', 'empty group'],
    ['(a', 'unbalanced'],
    ['a)', 'unbalanced'],
    ['[[:alpha:]]', 'POSIX classes follow the locale'],
    ['[a-]', 'a dash literal'],
    ['[]a]', 'a bracket literal'],
    ['[z-a]', 'a reversed range'],
    ['[A-z]', 'a range across families'],
    ['[\\d]', 'escapes in brackets'],
    ['[]', 'an empty class'],
    ['a^b', 'an anchor inside a branch'],
    ['a$b', 'an anchor inside a branch'],
    ['é', 'non-ASCII'],
    ['a\tb', 'control characters'],
    ['a'.repeat(1001), 'too long'],
    ['('.repeat(40) + 'a' + ')'.repeat(40), 'too deep'],
  ])('refuses %j (%s)', (p) => {
    expect(isPortableRegex(p)).toBe(false);
  });
});
