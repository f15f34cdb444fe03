import { validateTieredTable } from '@strata/core';
import { jsonRowsTranscoder, parseJsonRows, tableModel } from '@strata/gateway';
import { compareStoredCopies, seededRandom } from '../support/fast-path-diff';

/**
 * The JSON → COPY fast path (NDJSON, arrays, one object) against the general path (parseJsonRows + encodeRow),
 * judged by PostgreSQL (test/support/fast-path-diff.ts: stored rows as PostgreSQL prints
 * them — jsonb canonical text, float8 shortest text, -0 included — must be identical).
 * Bodies come from a seeded generator that mixes the common shape with the cases the
 * fast path must leave to the general one.
 */

const spec = (() => {
  const r = validateTieredTable({
    table: 'ev',
    timeColumn: 'time',
    mode: 'hot-then-cold',
    columns: [
      { name: 'time', type: 'timestamptz' },
      { name: 'app', type: 'text' },
      { name: 'labels', type: 'jsonb' },
      { name: 'value', type: 'double precision' },
      { name: 'at', type: 'timestamp' },
    ],
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
})();
const model = tableModel(spec);
const transcoder = jsonRowsTranscoder(model)!;
const transcode = (text: string, framing: 'ndjson' | 'json' = 'ndjson') => {
  const r = transcoder(Buffer.from(text, 'utf8'), framing);
  return r && { rows: r.rows, data: r.data.toString('utf8') };
};

const TEXTS = ['api', 'web-1', 'naïve ☃', '', 'a b', 'x"y', 'tab\\there', 'nl\\nx', 'bs\\\\', '\\u00e9', '\\u0000', 'ctl\u0001', '😀'];
const FLOATS = ['0', '1', '-1', '1.5', '-1.0', '0.1', '0.30000000000000004', '-0', '-0.0', '1e5', '1E-3', '123456789012345', '1234567890123456', '0.12345678901234567891', '00', '1.', '.5', '+1', 'NaN', '"1.5"', 'true', 'null'];
const TIMES = ['"2026-11-25T10:00:00Z"', '"2026-11-25T10:00:00.123456+02:00"', '"2026-11-25 10:00:00Z"', '"2026-02-30T00:00:00Z"', '"2026-11-25T10:00:00.1234567Z"', '1764064800', '"2026-11-25"', 'null'];
const JSONB = ['{}', '{"region":"eu","pod":"p-1"}', '{"n":1,"f":1.5,"b":true,"z":null,"a":[1,"x",{}]}', '{"k":"a\\"b\\\\c\\n\\u00e9\\/"}', '{"d":1,"d":2}', '{"x":1.0}', '{"big":12345678901234567890}', '{"e":1e400}', '{"u":"\\u0000"}', '{"s":"\\ud83d\\ude00"}', '[1, 2 ,3]', '"str"', '42', '{ "sp" :\t"tab" }', '{"bad":}', '{"n":-0}', 'null'];

function pick<T>(r: () => number, xs: T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function row(r: () => number): string {
  const fields: string[] = [];
  // Mostly the common shape, each field sometimes one of the listed variants.
  const common = () => r() < 0.8;
  if (r() < 0.97) fields.push(`"time":${common() ? TIMES[0] : pick(r, TIMES)}`);
  if (r() < 0.9) fields.push(`"app":${r() < 0.05 ? pick(r, ['1', 'true', 'null']) : `"${common() ? 'api' : pick(r, TEXTS)}"`}`);
  if (r() < 0.8) fields.push(`"labels":${common() ? JSONB[1] : pick(r, JSONB)}`);
  if (r() < 0.9) fields.push(`"value":${common() ? '12.5' : pick(r, FLOATS)}`);
  if (r() < 0.3) fields.push(`"at":${pick(r, TIMES)}`);
  if (r() < 0.01) fields.push('"unknown":1');
  if (r() < 0.01) fields.push('"app":"dup"');
  for (let i = fields.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [fields[i], fields[j]] = [fields[j], fields[i]];
  }
  const sep = r() < 0.1 ? ' , ' : r() < 0.03 ? ',\n' : ',';
  const line = `{${fields.join(sep)}}`;
  return r() < 0.01 ? line + ' x' : r() < 0.05 ? ` ${line} \r` : line;
}

describe('JSON fast path (gateway/src/model/json-copy.ts)', () => {
  test.each([
    ['NDJSON', 'ndjson', 'application/x-ndjson'],
    ['a JSON array or object', 'json', 'application/json'],
  ] as const)('stores exactly what the general path stores, for every %s body it accepts', async (_what, framing, contentType) => {
    const r = seededRandom(framing === 'ndjson' ? 20261126 : 20261127);
    const bodies = Array.from({ length: 3000 }, () => {
      const lines = Array.from({ length: 1 + Math.floor(r() * 4) }, () => row(r));
      if (framing === 'ndjson') return lines.join(r() < 0.1 ? '\n\n' : '\n') + (r() < 0.3 ? '\n' : '');
      const body = lines.length === 1 && r() < 0.3 ? lines[0] : `[${lines.join(r() < 0.5 ? ',\n' : ' ,')}]`;
      return r() < 0.1 ? `\n ${body}\n` : r() < 0.02 ? body + ' ]' : body;
    });
    const result = await compareStoredCopies(
      'time timestamptz, app text, labels jsonb, value float8, at timestamp',
      ['time', 'app', 'labels', 'value', 'at'],
      bodies.map((text) => ({
        fast: transcode(text, framing)?.data,
        // The general path must accept what the fast path accepted (else this throws).
        general: () => parseJsonRows(Buffer.from(text), contentType).map((row, i) => model.encodeRow(row, i + 1)).join(''),
      })),
    );
    // Both kinds of body must be common, or the comparison proves little.
    expect(result.accepted).toBeGreaterThan(500);
    expect(result.declined).toBeGreaterThan(500);
    expect(result.rowCountMismatches).toEqual([]);
    expect(result.differences).toEqual([]);
    expect(result.storedRows).toBeGreaterThan(300);
  });

  test.each([
    ['an unknown field (the general path merges it into labels)', '{"time":"2026-11-25T10:00:00Z","pod":"p"}'],
    ['an escape in a text value', '{"time":"2026-11-25T10:00:00Z","app":"a\\tb"}'],
    ['a number PostgreSQL would read differently', '{"time":"2026-11-25T10:00:00Z","value":1e400}'],
    ['negative zero', '{"time":"2026-11-25T10:00:00Z","value":-0}'],
    ['a jsonb number JavaScript prints differently', '{"time":"2026-11-25T10:00:00Z","labels":{"x":1.0}}'],
    ['a timestamp that is not plain RFC 3339', '{"time":"2026-11-25 10:00"}'],
    ['malformed JSON', '{"time":"2026-11-25T10:00:00Z",}'],
    ['two objects on a line', '{"time":"2026-11-25T10:00:00Z"}{"time":"2026-11-25T10:00:00Z"}'],
    ['a repeated field', '{"time":"2026-11-25T10:00:00Z","app":"a","app":"b"}'],
    ['a row that is not an object', '[1,2]'],
    ['an object spanning lines', '{"time":"2026-11-25T10:00:00Z",\n"app":"a"}'],
  ])('leaves %s to the general path', (_what, text) => {
    expect(transcode(text)).toBeUndefined();
  });

  test('leaves invalid UTF-8 to the general path (which reads it as U+FFFD)', () => {
    const body = Buffer.concat([Buffer.from('{"time":"2026-11-25T10:00:00Z","app":"'), Buffer.from([0xff]), Buffer.from('"}')]);
    expect(transcoder(body, 'ndjson')).toBeUndefined();
  });

  test('takes the common shape, with blank lines and CRLF', () => {
    const text = '{"time":"2026-11-25T10:00:00Z","app":"api","labels":{"region":"eu"},"value":1.5}\r\n\n{"time":"2026-11-25T10:00:01Z","value":null}\n';
    expect(transcode(text)).toEqual({
      rows: 2,
      data: '2026-11-25T10:00:00Z\tapi\t{"region":"eu"}\t1.5\t\\N\n2026-11-25T10:00:01Z\t\\N\t\\N\t\\N\t\\N\n',
    });
    expect(transcode('')).toEqual({ rows: 0, data: '' });
    // One JSON document: line feeds are whitespace anywhere, jsonb's included (escaped for COPY).
    expect(transcode('[\n{"time":"2026-11-25T10:00:00Z",\n"labels":{\n"a":1}}\n]', 'json')).toEqual({
      rows: 1,
      data: '2026-11-25T10:00:00Z\t\\N\t{\\n"a":1}\t\\N\t\\N\n',
    });
    expect(transcode('[]', 'json')).toEqual({ rows: 0, data: '' });
    expect(transcode('', 'json')).toBeUndefined();
  });

  test('is not offered for tables it cannot serve exactly', () => {
    const cold = validateTieredTable({ ...spec, mode: 'cold-only' });
    const ints = validateTieredTable({ ...spec, columns: [...spec.columns, { name: 'n', type: 'integer' }] });
    if (!cold.ok || !ints.ok) throw new Error('bad spec');
    expect(jsonRowsTranscoder(tableModel(cold.spec))).toBeUndefined();
    expect(jsonRowsTranscoder(tableModel(ints.spec))).toBeUndefined();
  });
});
