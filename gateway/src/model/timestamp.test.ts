import { isPlainRfc3339, isPlainRfc3339Bytes } from './timestamp';

/** The definition isPlainRfc3339 implements by character position, as a regex oracle. */
const SHAPE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function reference(text: string): boolean {
  const m = SHAPE.exec(text);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  if (y < 1900 || y > 2298 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= DAYS[mo - 1] + (leap ? 1 : 0);
}

describe('isPlainRfc3339', () => {
  test('agrees with its regex definition on valid, mutated and truncated timestamps', () => {
    const seeds = [
      '2026-11-25T10:00:00Z', '2026-11-25T10:00:00.123456+02:00', '2024-02-29T23:59:59.1-00:00', '2023-02-29T00:00:00Z',
      '1899-12-31T23:59:59Z', '2298-12-31T23:59:59Z', '2299-01-01T00:00:00Z', '2026-04-31T00:00:00Z', '2000-02-29T00:00:00Z', '1900-02-29T00:00:00Z',
    ];
    const alphabet = '0123456789-:T.Z+ zt';
    let x = 12345;
    const rand = (n: number) => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      return x % n;
    };
    const cases: string[] = [...seeds];
    for (const s of seeds) {
      for (let i = 0; i <= s.length; i++) cases.push(s.slice(0, i), s.slice(0, i) + s.slice(i + 1));
      for (let k = 0; k < 400; k++) {
        const i = rand(s.length);
        cases.push(s.slice(0, i) + alphabet[rand(alphabet.length)] + s.slice(i + 1), s.slice(0, i) + alphabet[rand(alphabet.length)] + s.slice(i));
      }
    }
    for (const c of cases) expect([c, isPlainRfc3339(c)]).toEqual([c, reference(c)]);
    // In place, as the JSON hot path reads it: bytes around the range (a quote before, more
    // digits and an offset after) must not be read as part of it.
    for (const c of cases) {
      const body = Buffer.from(`{"time":"${c}+01:0099"`, 'latin1');
      const start = body.indexOf('"', 7) + 1;
      expect([c, isPlainRfc3339Bytes(body, start, start + c.length)]).toEqual([c, reference(c)]);
    }
  });

  test('a character outside ASCII is never read as the byte it ends in', () => {
    // U+0132 and U+0A3A end in the bytes of "2" and ":"; a latin1 write would keep only those.
    expect(isPlainRfc3339('2026-11-25T10:00:00Z')).toBe(true);
    expect(isPlainRfc3339('202\u0132-11-25T10:00:00Z')).toBe(false);
    expect(isPlainRfc3339('2026-11-25T10\u0a3a00:00Z')).toBe(false);
    expect(isPlainRfc3339('2026-11-25T10:00:00.123456+02:00')).toBe(true);
    expect(isPlainRfc3339('2026-11-25T10:00:00.123456+02:00 ')).toBe(false);
  });
});
