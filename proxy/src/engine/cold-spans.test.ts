import { ColdSpans } from './cold-spans';

/** ColdSpans with a stand-in store: read in the background, kept per generation set. */
function store(answers: Array<string | Error>) {
  const asked: string[] = [];
  return {
    asked,
    async queryTsv(sql: string) {
      asked.push(sql);
      const a = answers.shift() ?? new Error('no answer');
      if (a instanceof Error) throw a;
      return a;
    },
  };
}
const settle = () => new Promise((r) => setImmediate(r));

describe('ColdSpans', () => {
  it('has none until read in the background, then the span for that generation set only', async () => {
    const s = store(['10\t-5\t1700000000000000\n', '0\t0\t0\n']);
    const spans = new ColdSpans(s, 'db');
    expect(spans.of('metrics_events', 'time', '`_strata_gen` <= 1')).toBeUndefined();
    expect(spans.of('metrics_events', 'time', '`_strata_gen` <= 1')).toBeUndefined(); // one read at a time
    await settle();
    expect(s.asked).toHaveLength(1);
    expect(s.asked[0]).toBe('SELECT toString(count()), toString(toUnixTimestamp64Micro(min(`time`))), toString(toUnixTimestamp64Micro(max(`time`))) FROM `db`.`metrics_events`');
    expect(spans.of('metrics_events', 'time', '`_strata_gen` <= 1')).toEqual({ lo: -5n, hi: 1700000000000000n });
    // Another generation set: read anew; no row: nothing is known, and it is not asked again.
    expect(spans.of('metrics_events', 'time', '`_strata_gen` <= 2')).toBeUndefined();
    await settle();
    expect(spans.of('metrics_events', 'time', '`_strata_gen` <= 2')).toBeUndefined();
    expect(s.asked).toHaveLength(2);
  });

  it('a failed read is asked again by the next statement', async () => {
    const s = store([new Error('down'), '3\t1\t2\n']);
    const spans = new ColdSpans(s, 'db');
    expect(spans.of('t', 'time', 'g')).toBeUndefined();
    await settle();
    expect(spans.of('t', 'time', 'g')).toBeUndefined();
    await settle();
    expect(spans.of('t', 'time', 'g')).toEqual({ lo: 1n, hi: 2n });
  });
});
