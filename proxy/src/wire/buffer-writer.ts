/**
 * A reused, growing writer for outgoing messages (after pg-protocol's buffer-writer):
 * fields are appended, `frame(type)` patches the length and returns a copy, and the
 * writer is ready for the next message without reallocating.
 */
export class BufferWriter {
  private buffer: Buffer;
  private offset = 5;

  constructor(size = 1024) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  private ensure(size: number): void {
    if (this.buffer.length - this.offset >= size) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + size));
    this.buffer.copy(next, 0, 0, this.offset);
    this.buffer = next;
  }

  int32(value: number): this {
    this.ensure(4);
    this.buffer.writeInt32BE(value, this.offset);
    this.offset += 4;
    return this;
  }

  int16(value: number): this {
    this.ensure(2);
    this.buffer.writeInt16BE(value, this.offset);
    this.offset += 2;
    return this;
  }

  byte(value: number): this {
    this.ensure(1);
    this.buffer[this.offset++] = value;
    return this;
  }

  cstring(value: string): this {
    const length = Buffer.byteLength(value);
    this.ensure(length + 1);
    this.buffer.write(value, this.offset, 'utf8');
    this.offset += length;
    this.buffer[this.offset++] = 0;
    return this;
  }

  string(value: string): this {
    const length = Buffer.byteLength(value);
    this.ensure(length);
    this.buffer.write(value, this.offset, 'utf8');
    this.offset += length;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.ensure(value.length);
    this.buffer.set(value, this.offset);
    this.offset += value.length;
    return this;
  }

  /** The message with its type byte and length; the writer is reset. */
  frame(type: number): Buffer {
    this.buffer[0] = type;
    this.buffer.writeInt32BE(this.offset - 1, 1);
    const out = Buffer.from(this.buffer.subarray(0, this.offset));
    this.offset = 5;
    return out;
  }

  /** A startup-phase packet: length, no type byte. */
  untypedFrame(): Buffer {
    this.buffer.writeInt32BE(this.offset - 5 + 4, 1);
    const out = Buffer.from(this.buffer.subarray(1, this.offset));
    this.offset = 5;
    return out;
  }
}

/** A message with an empty body, built once (ParseComplete, Sync, …). */
export function constantFrame(type: number): Buffer {
  const out = Buffer.alloc(5);
  out[0] = type;
  out.writeInt32BE(4, 1);
  return out;
}
