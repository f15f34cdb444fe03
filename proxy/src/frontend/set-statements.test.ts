import { setStatements } from './set-statements';

describe('setStatements', () => {
  it('quotes names and values', () => {
    expect(setStatements([['TimeZone', "Europe/Paris"], ['strata.route', "it's"]])).toBe(`SET "TimeZone" = 'Europe/Paris'; SET "strata"."route" = 'it''s'`);
  });
});
