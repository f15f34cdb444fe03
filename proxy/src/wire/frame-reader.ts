import { ProtocolError, ProtocolErrorCode } from './protocol-error';

/** PostgreSQL's own limit for startup packets (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_PACKET = 10000;

/**
 * Called once per complete message. `frame` is the whole message including its type
 * byte (typed) and length, so it can be relayed without re-encoding; the body starts at
 * `frame[5]` (typed) or `frame[4]` (startup packets, `type` 0). Frames are views into
 * buffers this reader never writes again, so a handler may keep them across awaits.
 */
export type FrameHandler = (type: number, frame: Buffer) => void;

/**
 * Splits a byte stream into protocol messages, surviving any TCP split (after
 * pg-protocol's parser): complete messages are handed out as views of the incoming
 * chunk, and only a trailing partial message is kept, in one leftover buffer sized to
 * that message once its length is known. A length below the minimum or above the
 * configured maximum throws ProtocolError before anything is allocated for it.
 */
export class FrameReader {
  /** Startup phase: packets carry a length but no type byte. */
  untyped: boolean;
  private readonly header = Buffer.alloc(5);
  private headerFilled = 0;
  private partial: Buffer | null = null;
  private partialFilled = 0;

  /** May change between pushes (a session raises it after login); applies from the next header read. */
  maxMessageSize: number;

  constructor(maxMessageSize: number, untyped = false) {
    this.maxMessageSize = maxMessageSize;
    this.untyped = untyped;
  }

  /** Bytes held back as an incomplete message. */
  buffered(): number {
    return this.partial ? this.partialFilled : this.headerFilled;
  }

  private frameLength(source: Buffer, at: number): number {
    if (this.untyped) {
      const length = source.readInt32BE(at);
      if (length < 8 || length > MAX_STARTUP_PACKET) {
        throw new ProtocolError(ProtocolErrorCode.malformedLength, `invalid startup packet length ${length}`);
      }
      return length;
    }
    const length = source.readInt32BE(at + 1);
    if (length < 4) throw new ProtocolError(ProtocolErrorCode.malformedLength, `invalid message length ${length}`);
    if (length - 4 > this.maxMessageSize) {
      throw new ProtocolError(ProtocolErrorCode.messageTooLarge, `message of ${length - 4} bytes exceeds the limit of ${this.maxMessageSize}`);
    }
    return length + 1;
  }

  push(chunk: Buffer, onFrame: FrameHandler): void {
    let pos = 0;
    if (this.headerFilled > 0 || this.partial) {
      pos = this.continuePartial(chunk, onFrame);
      if (pos < 0) return;
    }
    const end = chunk.length;
    while (pos < end) {
      const headerLength = this.untyped ? 4 : 5;
      if (end - pos < headerLength) {
        chunk.copy(this.header, 0, pos, end);
        this.headerFilled = end - pos;
        return;
      }
      const total = this.frameLength(chunk, pos);
      if (end - pos >= total) {
        onFrame(this.untyped ? 0 : chunk[pos], chunk.subarray(pos, pos + total));
        pos += total;
      } else {
        this.partial = Buffer.allocUnsafe(total);
        chunk.copy(this.partial, 0, pos, end);
        this.partialFilled = end - pos;
        return;
      }
    }
  }

  /** Completes a message begun in an earlier chunk; returns where the chunk's next message starts, or -1. */
  private continuePartial(chunk: Buffer, onFrame: FrameHandler): number {
    let pos = 0;
    if (!this.partial) {
      const headerLength = this.untyped ? 4 : 5;
      const take = Math.min(headerLength - this.headerFilled, chunk.length);
      chunk.copy(this.header, this.headerFilled, 0, take);
      this.headerFilled += take;
      pos = take;
      if (this.headerFilled < headerLength) return -1;
      const total = this.frameLength(this.header, 0);
      this.partial = Buffer.allocUnsafe(total);
      this.header.copy(this.partial, 0, 0, headerLength);
      this.partialFilled = headerLength;
      this.headerFilled = 0;
    }
    const partial = this.partial;
    const take = Math.min(partial.length - this.partialFilled, chunk.length - pos);
    chunk.copy(partial, this.partialFilled, pos, pos + take);
    this.partialFilled += take;
    pos += take;
    if (this.partialFilled < partial.length) return -1;
    this.partial = null;
    this.partialFilled = 0;
    onFrame(this.untyped ? 0 : partial[0], partial);
    return pos;
  }
}
