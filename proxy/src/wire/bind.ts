import { BufferWriter } from './buffer-writer';
import { Frontend } from './message-codes';
import { MessageReader } from './message-reader';
import { ProtocolError, ProtocolErrorCode } from './protocol-error';

/** Bind: portal, statement, parameter formats and values, result formats (0 text, 1 binary). */
export interface Bind {
  portal: string;
  statement: string;
  paramFormats: number[];
  params: Array<Buffer | null>;
  resultFormats: number[];
}

function formatCode(value: number): number {
  if (value !== 0 && value !== 1) throw new ProtocolError(ProtocolErrorCode.invalidValue, `invalid format code ${value}`);
  return value;
}

export function decodeBind(frame: Buffer): Bind {
  const reader = new MessageReader(frame, 5);
  const portal = reader.cstring('portal name');
  const statement = reader.cstring('statement name');
  const paramFormats: number[] = [];
  for (let n = reader.int16('format count'), i = 0; i < n; i++) paramFormats.push(formatCode(reader.int16('format')));
  const params: Array<Buffer | null> = [];
  const count = reader.int16('parameter count');
  if (count < 0) throw new ProtocolError(ProtocolErrorCode.invalidValue, 'negative parameter count');
  for (let i = 0; i < count; i++) {
    const length = reader.int32('parameter length');
    params.push(length === -1 ? null : reader.bytes(length, 'parameter value'));
  }
  const resultFormats: number[] = [];
  for (let n = reader.int16('result format count'), i = 0; i < n; i++) resultFormats.push(formatCode(reader.int16('format')));
  reader.end('Bind');
  return { portal, statement, paramFormats, params, resultFormats };
}

/** Where the statement name lies in a Bind frame, so it can be swapped without decoding the rest. */
export function bindStatementSpan(frame: Buffer): { portalEnd: number; statementStart: number; statementEnd: number } {
  const portalEnd = frame.indexOf(0, 5);
  const statementEnd = portalEnd < 0 ? -1 : frame.indexOf(0, portalEnd + 1);
  if (statementEnd < 0) throw new ProtocolError(ProtocolErrorCode.truncatedField, 'unterminated name in Bind');
  return { portalEnd, statementStart: portalEnd + 1, statementEnd };
}

/** The same Bind naming another statement; parameter bytes are copied, not re-encoded. */
export function renameBindStatement(frame: Buffer, statement: string): Buffer {
  const span = bindStatementSpan(frame);
  const name = Buffer.from(statement);
  const out = Buffer.allocUnsafe(frame.length - (span.statementEnd - span.statementStart) + name.length);
  frame.copy(out, 0, 0, span.statementStart);
  name.copy(out, span.statementStart);
  frame.copy(out, span.statementStart + name.length, span.statementEnd);
  out.writeInt32BE(out.length - 1, 1);
  return out;
}

export function encodeBind(bind: Bind, writer = new BufferWriter()): Buffer {
  writer.cstring(bind.portal).cstring(bind.statement).int16(bind.paramFormats.length);
  for (const f of bind.paramFormats) writer.int16(f);
  writer.int16(bind.params.length);
  for (const p of bind.params) {
    if (p === null) writer.int32(-1);
    else writer.int32(p.length).bytes(p);
  }
  writer.int16(bind.resultFormats.length);
  for (const f of bind.resultFormats) writer.int16(f);
  return writer.frame(Frontend.bind);
}

/**
 * Checks a Bind's structure without building anything, so a malformed one ends the
 * client's session here instead of killing a pooled PostgreSQL connection.
 */
export function validateBind(frame: Buffer): void {
  const fail = () => {
    throw new ProtocolError(ProtocolErrorCode.truncatedField, 'malformed Bind message');
  };
  const end = frame.length;
  let at = frame.indexOf(0, 5);
  if (at < 0) fail();
  at = frame.indexOf(0, at + 1);
  if (at < 0) fail();
  at++;
  if (at + 2 > end) fail();
  const formats = frame.readInt16BE(at);
  at += 2;
  if (formats < 0 || at + formats * 2 + 2 > end) fail();
  for (let i = 0; i < formats; i++, at += 2) if (frame[at] !== 0 || frame[at + 1] > 1) fail();
  const params = frame.readInt16BE(at);
  at += 2;
  if (params < 0) fail();
  for (let i = 0; i < params; i++) {
    if (at + 4 > end) fail();
    const length = frame.readInt32BE(at);
    at += 4;
    if (length < -1) fail();
    if (length > 0) at += length;
    if (at > end) fail();
  }
  if (at + 2 > end) fail();
  const results = frame.readInt16BE(at);
  at += 2;
  if (results < 0 || at + results * 2 !== end) fail();
  for (let i = 0; i < results; i++, at += 2) if (frame[at] !== 0 || frame[at + 1] > 1) fail();
}
