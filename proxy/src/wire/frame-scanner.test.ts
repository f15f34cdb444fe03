import { FrameScanner, ScanFlag } from './frame-scanner';
import * as wire from './index';

const row = wire.encodeDataRow(['1', 'abc', null], new wire.BufferWriter());
const stream = Buffer.concat([
  wire.encodeRowDescription([{ name: 'a', tableOid: 0, columnAttr: 0, typeOid: 23, typeSize: 4, typeModifier: -1 }], [0]),
  row,
  row,
  wire.encodeCommandComplete('SELECT 2'),
  wire.encodeParameterStatus('TimeZone', 'UTC'),
  wire.PARSE_COMPLETE,
  wire.readyForQuery('T'),
]);

/** Relays everything except ParseComplete, captures ParameterStatus and ReadyForQuery. */
function scan(chunks: Buffer[]) {
  const out: Buffer[] = [];
  const events: string[] = [];
  const scanner = new FrameScanner({
    begin(type) {
      if (type === 0x31) return ScanFlag.notify;
      if (type === 0x53 || type === 0x5a) return ScanFlag.forward | ScanFlag.capture;
      return ScanFlag.forward;
    },
    forward(bytes) {
      out.push(Buffer.from(bytes));
      events.push('data');
    },
    end(type, captured) {
      events.push(type === 0x31 ? 'parse-complete' : `${String.fromCharCode(type)}:${captured?.length}`);
    },
  });
  for (const c of chunks) scanner.push(c);
  return { out: Buffer.concat(out), events: events.filter((e) => e !== 'data') };
}

describe('FrameScanner', () => {
  const expected = Buffer.concat([stream.subarray(0, stream.length - 11), stream.subarray(stream.length - 6)]);

  it('relays, drops and captures at every split offset', () => {
    for (let a = 0; a <= stream.length; a++) {
      const { out, events } = scan([stream.subarray(0, a), stream.subarray(a)]);
      expect(out).toEqual(expected);
      expect(events).toEqual(['S:18', 'parse-complete', 'Z:6']);
    }
  });

  it('relays byte by byte', () => {
    expect(scan([...stream].map((b) => Buffer.from([b]))).out).toEqual(expected);
  });

  it('relays a chunk of plain rows as the chunk itself', () => {
    const writes: Buffer[] = [];
    const scanner = new FrameScanner({ begin: () => ScanFlag.forward, forward: (b) => writes.push(b), end: () => undefined });
    const chunk = Buffer.concat([row, row, row]);
    scanner.push(chunk);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toBe(chunk);
  });
});
