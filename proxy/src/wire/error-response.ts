import { BufferWriter } from './buffer-writer';
import { Backend } from './message-codes';
import { MessageReader } from './message-reader';

/** ErrorResponse / NoticeResponse fields (after pg-gateway's BackendError: every field kept). */
export interface ErrorFields {
  severity: 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'DEBUG' | 'INFO' | 'LOG';
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: string;
  [field: string]: string | undefined;
}

const FIELD_CODES: Record<string, string> = {
  severity: 'S',
  code: 'C',
  message: 'M',
  detail: 'D',
  hint: 'H',
  position: 'P',
  internalPosition: 'p',
  internalQuery: 'q',
  where: 'W',
  schema: 's',
  table: 't',
  column: 'c',
  dataType: 'd',
  constraint: 'n',
  file: 'F',
  line: 'L',
  routine: 'R',
};
const FIELD_NAMES = Object.fromEntries(Object.entries(FIELD_CODES).map(([k, v]) => [v, k]));

function encodeFields(type: number, fields: ErrorFields, writer: BufferWriter): Buffer {
  // 'V' is the non-localised severity (9.6+); clients such as pgx read it first.
  writer.byte(0x53).cstring(fields.severity).byte(0x56).cstring(fields.severity);
  for (const [name, value] of Object.entries(fields)) {
    if (name === 'severity' || value === undefined) continue;
    const code = FIELD_CODES[name];
    if (code) writer.byte(code.charCodeAt(0)).cstring(value);
  }
  return writer.byte(0).frame(type);
}

export function encodeErrorResponse(fields: ErrorFields, writer = new BufferWriter()): Buffer {
  return encodeFields(Backend.errorResponse, fields, writer);
}

export function encodeNoticeResponse(fields: ErrorFields, writer = new BufferWriter()): Buffer {
  return encodeFields(Backend.noticeResponse, fields, writer);
}

export function decodeErrorResponse(frame: Buffer): ErrorFields {
  const reader = new MessageReader(frame, 5);
  const fields: Record<string, string> = {};
  for (let code = reader.byte(); code !== 0; code = reader.byte()) {
    const value = reader.cstring('error field');
    const key = FIELD_NAMES[String.fromCharCode(code)];
    if (key) fields[key] = value;
  }
  return { severity: 'ERROR', code: 'XX000', message: '', ...fields } as ErrorFields;
}
