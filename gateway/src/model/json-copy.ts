import { isUtf8 } from 'node:buffer';
import type { TieredColumn } from '@strata/core';
import type { TableModel } from './table-model';
import { isDigit, isPlainRfc3339Bytes } from './timestamp';

/**
 * The ingest hot path: a JSON body's bytes (NDJSON, an array of row objects, or one row
 * object) straight to PostgreSQL COPY text, without decoding it to a string or building
 * a JS object per row (JSON.parse, then encodeRow, then GC of it all cost the gateway
 * more CPU per row than PostgreSQL spends storing it — see bench/ingest). Values are
 * copied from the body as byte ranges.
 *
 * It handles the shape agents send — flat row objects whose fields are columns,
 * timestamps as RFC 3339 text, numbers, plain strings, a jsonb labels object — and
 * nothing else: on anything else (an unknown field, an escape in a text value, a number
 * whose text PostgreSQL would read differently from JavaScript, malformed JSON, an
 * NDJSON object spanning lines, invalid UTF-8, a missing required column, …) it returns
 * undefined and the caller takes the general path (parseJsonRows + TableModel.encodeRow),
 * which also words every error. So for every body it accepts, PostgreSQL stores exactly
 * what the general path would have stored; test/gateway/json-copy.test.ts checks that
 * against PostgreSQL itself.
 *
 * PostgreSQL targets only: raw timestamp and jsonb text is handed to PostgreSQL to read
 * (ClickHouse would keep jsonb text as given, so it gets the general path's canonical form).
 */

/** Rows encoded as COPY text (one line per row). */
export interface EncodedRows {
  data: Buffer;
  rows: number;
}

export type JsonRowsTranscoder = (body: Buffer, framing: JsonFraming) => EncodedRows | undefined;

const KIND = { time: 0, text: 1, float8: 2, jsonb: 3 } as const;
type Kind = (typeof KIND)[keyof typeof KIND];

const FAST_KINDS: Record<string, Kind> = {
  timestamptz: KIND.time,
  timestamp: KIND.time,
  text: KIND.text,
  float8: KIND.float8,
  jsonb: KIND.jsonb,
};

interface Table {
  kinds: Kind[];
  notNull: boolean[];
  /** Column names as bytes, by byte length: a key is matched in place. */
  byLength: Array<Array<[Buffer, number]>>;
}

/** The transcoder for a table, or undefined when its columns are not all of the handled kinds. */
export function jsonRowsTranscoder(model: TableModel): JsonRowsTranscoder | undefined {
  if (model.target !== 'postgresql') return undefined;
  const kinds: Kind[] = [];
  for (const c of model.columns) {
    const kind = fastKind(c);
    if (kind === undefined) return undefined;
    kinds.push(kind);
  }
  const byLength: Table['byLength'] = [];
  model.columns.forEach((c, i) => {
    const name = Buffer.from(c.name, 'utf8');
    (byLength[name.length] ??= []).push([name, i]);
  });
  const table: Table = { kinds, notNull: model.columns.map((c) => Boolean(c.notNull)), byLength };
  return (body, framing) => {
    if (!isUtf8(body)) return undefined;
    try {
      return transcode(body, table, framing);
    } catch (e) {
      if (e === BAIL) return undefined;
      throw e;
    }
  };
}

function fastKind(c: TieredColumn): Kind | undefined {
  // varchar(n) needs a length check in characters: the general path does it.
  return FAST_KINDS[c.pg.kind];
}

/** Thrown inside the scanner to abandon the fast path; never escapes this module. */
const BAIL = Symbol('bail');
function bail(): never {
  throw BAIL;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LF = 0x0a;

/** Growable output buffer. */
class Sink {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  nullValue(): void {
    this.ensure(2);
    this.buf[this.pos++] = BACKSLASH;
    this.buf[this.pos++] = 0x4e; // N
  }
  copy(src: Buffer, start: number, end: number): void {
    this.ensure(end - start);
    for (let i = start; i < end; i++) this.buf[this.pos++] = src[i];
  }
  /** COPY text escaping of a jsonb value's bytes: JSON escapes' backslashes; tabs, CRs and LFs between tokens. */
  copyEscaped(src: Buffer, start: number, end: number): void {
    this.ensure(2 * (end - start));
    const buf = this.buf;
    for (let i = start; i < end; i++) {
      const b = src[i];
      if (b === BACKSLASH) {
        buf[this.pos++] = BACKSLASH;
        buf[this.pos++] = BACKSLASH;
      } else if (b === 0x09) {
        buf[this.pos++] = BACKSLASH;
        buf[this.pos++] = 0x74; // t
      } else if (b === 0x0d) {
        buf[this.pos++] = BACKSLASH;
        buf[this.pos++] = 0x72; // r
      } else if (b === LF) {
        buf[this.pos++] = BACKSLASH;
        buf[this.pos++] = 0x6e; // n
      } else buf[this.pos++] = b;
    }
  }
}

/** How the rows are framed: one object per line, or one JSON document (an array of objects, or one object). */
export type JsonFraming = 'ndjson' | 'json';

function transcode(body: Buffer, table: Table, framing: JsonFraming): EncodedRows {
  const row = new RowReader(body, table, framing === 'json');
  const len = body.length;
  let pos = skipSpace(body, 0, true);
  if (framing === 'ndjson') {
    while (pos < len) {
      pos = row.read(pos);
      // Only whitespace may follow the object on its line.
      pos = skipSpace(body, pos, false);
      if (pos < len && body[pos] !== LF) bail();
      pos = skipSpace(body, pos, true);
    }
  } else if (body[pos] === 0x7b /* { */) {
    pos = skipSpace(body, row.read(pos), true);
  } else {
    if (body[pos] !== 0x5b /* [ */) bail();
    pos = skipSpace(body, pos + 1, true);
    if (body[pos] === 0x5d /* ] */) pos++;
    else {
      for (;;) {
        pos = skipSpace(body, row.read(pos), true);
        if (body[pos] === 0x5d) {
          pos++;
          break;
        }
        if (body[pos] !== 0x2c /* , */) bail();
        pos = skipSpace(body, pos + 1, true);
      }
    }
    pos = skipSpace(body, pos, true);
  }
  if (pos < len) bail();
  return row.result();
}

/** Reads row objects and writes each as a COPY line. */
class RowReader {
  private readonly n: number;
  /** Per row: each column's value as a byte range, or NULL_VALUE, or ABSENT. */
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly out: Sink;
  private rows = 0;

  constructor(
    private readonly body: Buffer,
    private readonly table: Table,
    /** Line feeds are whitespace inside objects (one JSON document), not row ends (NDJSON). */
    private readonly lf: boolean,
  ) {
    this.n = table.kinds.length;
    this.starts = new Int32Array(this.n);
    this.ends = new Int32Array(this.n);
    this.out = new Sink(body.length + 1024);
  }

  /** Reads the object at `pos` (its `{`), writes its line; returns the position after its `}`. */
  read(pos: number): number {
    const { body, table, starts, ends, lf } = this;
    if (body[pos] !== 0x7b /* { */) bail();
    starts.fill(ABSENT);
    pos = skipSpace(body, pos + 1, lf);
    if (body[pos] === 0x7d /* } */) pos++;
    else {
      for (;;) {
        // Key: a plain JSON string naming a column.
        if (body[pos] !== QUOTE) bail();
        const keyEnd = plainStringEnd(body, pos + 1);
        const col = columnAt(table, body, pos + 1, keyEnd);
        pos = skipSpace(body, keyEnd + 1, lf);
        if (body[pos] !== 0x3a /* : */) bail();
        pos = skipSpace(body, pos + 1, lf);
        // A repeated key: JSON.parse keeps the last; leave that to it.
        if (starts[col] !== ABSENT) bail();
        pos = readValue(body, pos, table.kinds[col], starts, ends, col, lf);
        pos = skipSpace(body, pos, lf);
        const c = body[pos];
        if (c === 0x2c /* , */) {
          pos = skipSpace(body, pos + 1, lf);
          continue;
        }
        if (c === 0x7d /* } */) {
          pos++;
          break;
        }
        bail();
      }
    }
    this.write();
    return pos;
  }

  private write(): void {
    const { body, table, starts, ends, out } = this;
    for (let i = 0; i < this.n; i++) {
      if (i > 0) out.byte(0x09);
      const s = starts[i];
      if (s < 0) {
        if (table.notNull[i]) bail();
        out.nullValue();
      } else if (table.kinds[i] === KIND.jsonb) out.copyEscaped(body, s, ends[i]);
      else out.copy(body, s, ends[i]);
    }
    out.byte(LF);
    this.rows++;
  }

  result(): EncodedRows {
    return { data: this.out.buf.subarray(0, this.out.pos), rows: this.rows };
  }
}

const ABSENT = -1;
/** A JSON null (distinct from an absent field only for the repeated-key check). */
const NULL_VALUE = -2;

function columnAt(table: Table, body: Buffer, start: number, end: number): number {
  candidates: for (const [name, i] of table.byLength[end - start] ?? []) {
    for (let k = 0; k < name.length; k++) if (body[start + k] !== name[k]) continue candidates;
    return i;
  }
  return bail();
}

/** Reads one value for a column of `kind` into starts/ends[col]; returns the position after it. */
function readValue(body: Buffer, pos: number, kind: Kind, starts: Int32Array, ends: Int32Array, col: number, lf: boolean): number {
  const c = body[pos];
  if (c === 0x6e /* n */) {
    if (body[pos + 1] !== 0x75 || body[pos + 2] !== 0x6c || body[pos + 3] !== 0x6c) bail();
    starts[col] = NULL_VALUE;
    return pos + 4;
  }
  switch (kind) {
    case KIND.time:
    case KIND.text: {
      if (c !== QUOTE) bail();
      const end = plainStringEnd(body, pos + 1);
      if (kind === KIND.time && !isPlainRfc3339Bytes(body, pos + 1, end)) bail();
      starts[col] = pos + 1;
      ends[col] = end;
      return end + 1;
    }
    case KIND.float8: {
      const end = safeFloatEnd(body, pos);
      starts[col] = pos;
      ends[col] = end;
      return end;
    }
    case KIND.jsonb: {
      const end = skipJsonValue(body, pos, 0, lf);
      starts[col] = pos;
      ends[col] = end;
      return end;
    }
  }
  return bail();
}


/**
 * The end of a decimal that PostgreSQL's float8in and JavaScript's Number read to the
 * same double (both round correctly) and that cannot overflow or underflow: no exponent,
 * at most 15 integer digits, at most 20 fraction digits. Negative zero is refused:
 * JavaScript prints it as "0". Grammar: -?(0|[1-9]\d{0,14})(\.\d{1,20})?
 */
function safeFloatEnd(body: Buffer, pos: number): number {
  const negative = body[pos] === 0x2d;
  if (negative) pos++;
  let allZero = true;
  if (body[pos] === 0x30) pos++;
  else {
    const start = pos;
    while (isDigit(body[pos])) pos++;
    if (pos === start || pos - start > 15) bail();
    allZero = false;
  }
  if (body[pos] === 0x2e /* . */) {
    const start = ++pos;
    while (isDigit(body[pos])) {
      if (body[pos] !== 0x30) allZero = false;
      pos++;
    }
    if (pos === start || pos - start > 20) bail();
  }
  const c = body[pos];
  // A JSON number ends here; an exponent or more digits (a leading zero) is not ours.
  if (c === 0x65 || c === 0x45 || isDigit(c)) bail();
  if (negative && allZero) bail();
  return pos;
}

/** JSON whitespace; a line feed only between rows (an object spanning lines is the general path's). */
function skipSpace(body: Buffer, pos: number, lineFeeds: boolean): number {
  for (;;) {
    const c = body[pos];
    if (c === 0x20 || c === 0x09 || c === 0x0d || (lineFeeds && c === LF)) pos++;
    else return pos;
  }
}

/**
 * The index of the closing quote of a string with no escapes and no control characters
 * (whose bytes are then its value, and need no COPY escaping).
 */
function plainStringEnd(body: Buffer, pos: number): number {
  for (;;) {
    const c = body[pos];
    if (c === QUOTE) return pos;
    if (c === BACKSLASH || c < 0x20 || c === undefined) bail();
    pos++;
  }
}

const MAX_DEPTH = 64;

/**
 * Validates one JSON value for a jsonb column and returns the position after it. Strings
 * may hold escapes (PostgreSQL decodes them as JSON.parse does), except \u0000, which
 * jsonb refuses. Numbers must be printed as JavaScript prints them, since the general
 * path stores what JSON.stringify writes (1.0 → 1, 1e400 → null).
 */
function skipJsonValue(body: Buffer, pos: number, depth: number, lf: boolean): number {
  if (depth > MAX_DEPTH) bail();
  const c = body[pos];
  if (c === QUOTE) return jsonStringEnd(body, pos + 1) + 1;
  if (c === 0x7b /* { */) {
    pos = skipSpace(body, pos + 1, lf);
    if (body[pos] === 0x7d) return pos + 1;
    for (;;) {
      if (body[pos] !== QUOTE) bail();
      pos = skipSpace(body, jsonStringEnd(body, pos + 1) + 1, lf);
      if (body[pos] !== 0x3a) bail();
      pos = skipSpace(body, skipJsonValue(body, skipSpace(body, pos + 1, lf), depth + 1, lf), lf);
      const d = body[pos];
      if (d === 0x7d) return pos + 1;
      if (d !== 0x2c) bail();
      pos = skipSpace(body, pos + 1, lf);
    }
  }
  if (c === 0x5b /* [ */) {
    pos = skipSpace(body, pos + 1, lf);
    if (body[pos] === 0x5d) return pos + 1;
    for (;;) {
      pos = skipSpace(body, skipJsonValue(body, pos, depth + 1, lf), lf);
      const d = body[pos];
      if (d === 0x5d) return pos + 1;
      if (d !== 0x2c) bail();
      pos = skipSpace(body, pos + 1, lf);
    }
  }
  for (const literal of LITERALS) if (hasBytes(body, pos, literal)) return pos + literal.length;
  let end = pos;
  while (isNumberByte(body[end])) end++;
  const token = body.toString('latin1', pos, end);
  if (token === '' || !JSON_NUMBER.test(token) || String(Number(token)) !== token) bail();
  return end;
}

const LITERALS = ['true', 'false', 'null'].map((l) => Buffer.from(l));
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/;

function isNumberByte(c: number): boolean {
  return isDigit(c) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}

function hasBytes(body: Buffer, pos: number, bytes: Buffer): boolean {
  for (let k = 0; k < bytes.length; k++) if (body[pos + k] !== bytes[k]) return false;
  return true;
}

const ESCAPABLE = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

function jsonStringEnd(body: Buffer, pos: number): number {
  for (;;) {
    const c = body[pos];
    if (c === QUOTE) return pos;
    if (c < 0x20 || c === undefined) bail();
    if (c !== BACKSLASH) {
      pos++;
      continue;
    }
    const e = body[pos + 1];
    if (e === 0x75 /* u */) {
      let zero = true;
      for (let k = 2; k < 6; k++) {
        const h = body[pos + k];
        if (!isHex(h)) bail();
        if (h !== 0x30) zero = false;
      }
      if (zero) bail();
      pos += 6;
    } else if (ESCAPABLE.has(e)) pos += 2;
    else bail();
  }
}
