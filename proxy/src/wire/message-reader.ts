import { ProtocolError, ProtocolErrorCode } from './protocol-error';

/** Reads fields from one message body; every overrun is a ProtocolError, never a crash. */
export class MessageReader {
  offset: number;

  constructor(
    readonly body: Buffer,
    start = 0,
  ) {
    this.offset = start;
  }

  private need(bytes: number, what: string): void {
    if (bytes < 0 || this.offset + bytes > this.body.length) {
      throw new ProtocolError(ProtocolErrorCode.truncatedField, `message truncated reading ${what}`);
    }
  }

  int32(what = 'int32'): number {
    this.need(4, what);
    const value = this.body.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  int16(what = 'int16'): number {
    this.need(2, what);
    const value = this.body.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  byte(what = 'byte'): number {
    this.need(1, what);
    return this.body[this.offset++];
  }

  cstring(what = 'string'): string {
    const end = this.body.indexOf(0, this.offset);
    if (end < 0) throw new ProtocolError(ProtocolErrorCode.truncatedField, `unterminated ${what}`);
    const value = this.body.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return value;
  }

  bytes(length: number, what = 'bytes'): Buffer {
    this.need(length, what);
    const value = this.body.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  remaining(): number {
    return this.body.length - this.offset;
  }

  /** Messages whose fields must fill the body exactly reject trailing bytes. */
  end(what: string): void {
    if (this.offset !== this.body.length) {
      throw new ProtocolError(ProtocolErrorCode.invalidValue, `trailing bytes in ${what}`);
    }
  }
}
