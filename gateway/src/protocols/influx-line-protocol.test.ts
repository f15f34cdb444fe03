import { Micros } from '../model/table-model';
import { parseLineProtocol, precisionOf } from './influx-line-protocol';

const NOW = 1_700_000_000_000_000;
const t = (rows: Array<Record<string, unknown>>) => rows.map((r) => ({ ...r, time: (r.time as Micros).value }));

describe('parseLineProtocol', () => {
  test.each([
    ['cpu,host=a usage=1.5 1700000000000000000', 'ns', [{ time: 1_700_000_000_000_000, measurement: 'cpu', field: 'usage', value: 1.5, value_text: null, labels: { host: 'a' } }]],
    ['cpu usage=2i,ok=t,msg="a \\"q\\" b" 1700000000', 's', [
      { time: 1_700_000_000_000_000, measurement: 'cpu', field: 'usage', value: 2, value_text: null, labels: {} },
      { time: 1_700_000_000_000_000, measurement: 'cpu', field: 'ok', value: 1, value_text: null, labels: {} },
      { time: 1_700_000_000_000_000, measurement: 'cpu', field: 'msg', value: null, value_text: 'a "q" b', labels: {} },
    ]],
    ['my\\ meas,tag\\,k=v\\ 1\\=x f\\=ld=-3e2 1700000000123', 'ms', [{ time: 1_700_000_000_123_000, measurement: 'my meas', field: 'f=ld', value: -300, value_text: null, labels: { 'tag,k': 'v 1=x' } }]],
    ['mem used=7u', 'ns', [{ time: NOW, measurement: 'mem', field: 'used', value: 7, value_text: null, labels: {} }]],
    ['# comment\n\n  \ncpu v=F 1', 'h', [{ time: 3_600_000_000, measurement: 'cpu', field: 'v', value: 0, value_text: null, labels: {} }]],
  ])('%s (%s)', (text, precision, expected) => {
    expect(t(parseLineProtocol(text, precisionOf(precision), NOW))).toEqual(expected);
  });

  test.each([
    ['cpu', /line 1: expected a space before the fields/],
    ['cpu v=1\ncpu v=', /line 2: field v has no value/],
    ['cpu v=abc', /line 1: field v: not a number/],
    ['cpu v="open', /line 1: field v: unterminated string/],
    ['cpu,host v=1', /line 1: malformed tag/],
    ['cpu v=1 12x', /line 1: timestamp is not an integer/],
    ['cpu v=-1u', /line 1: field v: malformed integer/],
    [',t=1 v=1', /line 1: missing measurement/],
  ])('refuses %j', (text, message) => {
    expect(() => parseLineProtocol(text, 'ns', NOW)).toThrow(message);
  });

  test('unknown precision is refused by name', () => {
    expect(() => precisionOf('xs')).toThrow(/unknown precision "xs"/);
    expect(precisionOf(undefined)).toBe('ns');
  });
});
