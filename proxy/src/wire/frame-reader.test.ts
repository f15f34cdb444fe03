import * as wire from './index';
import { BufferWriter } from './buffer-writer';
import { FrameReader } from './frame-reader';
import { ProtocolError } from './protocol-error';

const w = () => new BufferWriter(8);
const field = { name: 'n', tableOid: 1, columnAttr: 2, typeOid: 23, typeSize: 4, typeModifier: -1 };

/** One sample of every message kind each side sends after startup. */
const typedSamples: Array<[string, Buffer]> = [
  ['Query', wire.encodeQuery('SELECT 1; SELECT 2')],
  ['Parse', wire.encodeParse({ name: 's1', sql: 'SELECT $1::int', paramTypes: [23] })],
  ['Bind', wire.encodeBind({ portal: 'p', statement: 's1', paramFormats: [1], params: [Buffer.from([0, 0, 0, 7]), null], resultFormats: [1] })],
  ['Describe', wire.encodeDescribe({ kind: 'S', name: 's1' })],
  ['Execute', wire.encodeExecute({ portal: 'p', maxRows: 0 })],
  ['Close', wire.encodeClose({ kind: 'P', name: 'p' })],
  ['Sync', wire.SYNC],
  ['Flush', wire.FLUSH],
  ['Terminate', wire.TERMINATE],
  ['CopyData', wire.encodeCopyData(Buffer.from('1\tx\n'))],
  ['CopyDone', wire.COPY_DONE],
  ['CopyFail', wire.encodeCopyFail('stop')],
  ['PasswordMessage', wire.encodePasswordMessage('md5abc')],
  ['SASLInitialResponse', wire.encodeSaslInitialResponse({ mechanism: 'SCRAM-SHA-256', data: Buffer.from('n,,n=,r=abc') })],
  ['SASLResponse', wire.encodeSaslResponse(Buffer.from('c=biws,r=abc,p=xyz'))],
  ['AuthenticationOk', wire.AUTHENTICATION_OK],
  ['AuthenticationMD5', wire.encodeAuthenticationMd5(Buffer.from([1, 2, 3, 4]))],
  ['AuthenticationSASL', wire.encodeAuthenticationSasl(['SCRAM-SHA-256'])],
  ['AuthenticationSASLContinue', wire.encodeAuthenticationSaslContinue(Buffer.from('r=abc,s=c2FsdA==,i=4096'))],
  ['AuthenticationSASLFinal', wire.encodeAuthenticationSaslFinal(Buffer.from('v=abc'))],
  ['ParameterStatus', wire.encodeParameterStatus('TimeZone', 'UTC')],
  ['BackendKeyData', wire.encodeBackendKeyData({ processId: 42, secretKey: -7 })],
  ['ReadyForQuery', wire.readyForQuery('T')],
  ['RowDescription', wire.encodeRowDescription([field, { ...field, name: 'm' }], [0, 1])],
  ['DataRow', wire.encodeDataRow(['1', null, Buffer.from([1, 2])], w())],
  ['CommandComplete', wire.encodeCommandComplete('SELECT 3')],
  ['ErrorResponse', wire.encodeErrorResponse({ severity: 'ERROR', code: '42P01', message: 'relation "x" does not exist', position: '15' })],
  ['NoticeResponse', wire.encodeNoticeResponse({ severity: 'NOTICE', code: '00000', message: 'hello' })],
  ['ParseComplete', wire.PARSE_COMPLETE],
  ['BindComplete', wire.BIND_COMPLETE],
  ['CloseComplete', wire.CLOSE_COMPLETE],
  ['NoData', wire.NO_DATA],
  ['ParameterDescription', wire.encodeParameterDescription([23, 25])],
  ['EmptyQueryResponse', wire.EMPTY_QUERY_RESPONSE],
  ['PortalSuspended', wire.PORTAL_SUSPENDED],
  ['CopyInResponse', wire.encodeCopyResponse('in', 0, [0, 0])],
  ['CopyOutResponse', wire.encodeCopyResponse('out', 1, [1])],
];

const untypedSamples: Array<[string, Buffer]> = [
  ['StartupMessage', wire.encodeStartupMessage({ user: 'alice', database: 'db', application_name: 'x' })],
  ['SSLRequest', wire.SSL_REQUEST],
  ['GSSENCRequest', wire.GSSENC_REQUEST],
  ['CancelRequest', wire.encodeCancelRequest({ processId: 9, secretKey: 11 })],
];

function collect(reader: FrameReader, chunks: Buffer[]): Buffer[] {
  const frames: Buffer[] = [];
  for (const chunk of chunks) reader.push(chunk, (_type, frame) => frames.push(Buffer.from(frame)));
  return frames;
}

describe('FrameReader', () => {
  describe.each(typedSamples)('%s', (_name, frame) => {
    // Two messages back to back, so a split can fall in either and between them.
    const stream = Buffer.concat([frame, frame]);
    it('is read whole at every split offset', () => {
      for (let split = 0; split <= stream.length; split++) {
        const frames = collect(new FrameReader(1 << 20), [stream.subarray(0, split), stream.subarray(split)]);
        expect(frames).toEqual([frame, frame]);
      }
    });
    it('is read whole at every pair of split offsets', () => {
      for (let a = 1; a < stream.length; a++) {
        for (let b = a; b < stream.length; b += 3) {
          const frames = collect(new FrameReader(1 << 20), [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]);
          expect(frames).toEqual([frame, frame]);
        }
      }
    });
  });

  describe.each(untypedSamples)('%s (startup phase)', (_name, frame) => {
    it('is read whole at every split offset and byte by byte', () => {
      for (let split = 0; split <= frame.length; split++) {
        expect(collect(new FrameReader(1 << 20, true), [frame.subarray(0, split), frame.subarray(split)])).toEqual([frame]);
      }
      const bytes = [...frame].map((b) => Buffer.from([b]));
      expect(collect(new FrameReader(1 << 20, true), bytes)).toEqual([frame]);
    });
  });

  it('reads every kind back to back, byte by byte', () => {
    const all = Buffer.concat(typedSamples.map(([, f]) => f));
    const frames = collect(new FrameReader(1 << 20), [...all].map((b) => Buffer.from([b])));
    expect(frames).toEqual(typedSamples.map(([, f]) => f));
  });

  it('reports the type byte of each frame', () => {
    const types: number[] = [];
    new FrameReader(1024).push(Buffer.concat([wire.SYNC, wire.encodeQuery('x')]), (type) => types.push(type));
    expect(types).toEqual([0x53, 0x51]);
  });

  it('switches from untyped to typed frames mid-chunk', () => {
    const reader = new FrameReader(1024, true);
    const seen: number[] = [];
    reader.push(Buffer.concat([wire.encodeStartupMessage({ user: 'u' }), wire.SYNC]), (type) => {
      seen.push(type);
      reader.untyped = false;
    });
    expect(seen).toEqual([0, 0x53]);
  });

  it('rejects a message over the configured maximum before buffering it', () => {
    const reader = new FrameReader(100);
    const big = wire.encodeQuery('x'.repeat(200));
    expect(() => reader.push(big.subarray(0, 5), () => undefined)).toThrow(ProtocolError);
    expect(() => new FrameReader(100).push(big.subarray(0, 5), () => undefined)).toThrow(/exceeds the limit of 100/);
  });

  it.each([
    ['a negative length', Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff])],
    ['a length below 4', Buffer.from([0x51, 0, 0, 0, 3])],
  ])('rejects %s with code malformed_length', (_name, bytes) => {
    try {
      new FrameReader(1024).push(bytes, () => undefined);
      throw new Error('no error');
    } catch (error) {
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).code).toBe('malformed_length');
      expect((error as ProtocolError).sqlState).toBe('08P01');
    }
  });

  it('rejects startup packets longer than PostgreSQL accepts', () => {
    const packet = Buffer.alloc(8);
    packet.writeInt32BE(20000, 0);
    expect(() => new FrameReader(1 << 20, true).push(packet, () => undefined)).toThrow(/startup packet length/);
  });
});

describe('message codecs', () => {
  it('round-trip the messages the proxy decodes', () => {
    expect(wire.decodeQuery(wire.encodeQuery('SELECT 1'))).toBe('SELECT 1');
    expect(wire.decodeParse(wire.encodeParse({ name: 'a', sql: 'q', paramTypes: [23, 0] }))).toEqual({ name: 'a', sql: 'q', paramTypes: [23, 0] });
    const bind = { portal: 'p', statement: 's', paramFormats: [0, 1], params: [Buffer.from('1'), null], resultFormats: [1] };
    expect(wire.decodeBind(wire.encodeBind(bind))).toEqual(bind);
    expect(wire.decodeBind(wire.renameBindStatement(wire.encodeBind(bind), 'longer_name'))).toEqual({ ...bind, statement: 'longer_name' });
    expect(wire.decodeExecute(wire.encodeExecute({ portal: '', maxRows: 5 }))).toEqual({ portal: '', maxRows: 5 });
    expect(wire.decodeDescribe(wire.encodeDescribe({ kind: 'P', name: 'x' }))).toEqual({ kind: 'P', name: 'x' });
    expect(wire.decodeStartupPacket(wire.encodeStartupMessage({ user: 'u', database: 'd' }))).toEqual({
      kind: 'startup',
      protocol: 196608,
      parameters: new Map([['user', 'u'], ['database', 'd']]),
    });
    expect(wire.decodeStartupPacket(wire.SSL_REQUEST)).toEqual({ kind: 'ssl' });
    expect(wire.decodeStartupPacket(wire.GSSENC_REQUEST)).toEqual({ kind: 'gssenc' });
    expect(wire.decodeStartupPacket(wire.encodeCancelRequest({ processId: 1, secretKey: 2 }))).toEqual({ kind: 'cancel', processId: 1, secretKey: 2 });
    const error = wire.decodeErrorResponse(wire.encodeErrorResponse({ severity: 'FATAL', code: '08P01', message: 'bad', detail: 'd' }));
    expect(error).toMatchObject({ severity: 'FATAL', code: '08P01', message: 'bad', detail: 'd' });
  });

  it.each([
    ['Bind with a truncated parameter', Buffer.concat([wire.encodeBind({ portal: '', statement: '', paramFormats: [], params: [Buffer.from('abc')], resultFormats: [] }).subarray(0, 12)])],
    ['Parse without terminator', Buffer.from([0x50, 0, 0, 0, 6, 0x61, 0x62])],
    ['Describe of kind X', Buffer.from([0x44, 0, 0, 0, 6, 0x58, 0])],
    ['Bind with format code 7', Buffer.from([0x42, 0, 0, 0, 10, 0, 0, 0, 1, 0, 7])],
  ])('rejects %s as a ProtocolError', (_name, frame) => {
    const decode = { 0x42: wire.decodeBind, 0x50: wire.decodeParse, 0x44: wire.decodeDescribe }[frame[0]]!;
    const fixed = Buffer.from(frame);
    fixed.writeInt32BE(fixed.length - 1, 1);
    expect(() => decode(fixed)).toThrow(ProtocolError);
  });
});
