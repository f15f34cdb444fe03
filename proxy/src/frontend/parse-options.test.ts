import { parseOptions } from './startup';

describe('parseOptions', () => {
  it.each([
    ['-c search_path=app', [['search_path', 'app']]],
    ['-csearch_path=app --statement-timeout=5s', [['search_path', 'app'], ['statement_timeout', '5s']]],
    ['-c application_name=with\\ space', [['application_name', 'with space']]],
    ['', []],
  ])('%j', (options, expected) => {
    expect(parseOptions(options)).toEqual(expected);
  });
});
