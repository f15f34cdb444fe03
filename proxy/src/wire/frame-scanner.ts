import { ProtocolError, ProtocolErrorCode } from './protocol-error';

/** What to do with a message, chosen when its header is seen. */
export const ScanFlag = {
  /** Relay its bytes. */
  forward: 1,
  /** Hand the whole message to `end` (only small messages: status, errors, parameters). */
  capture: 2,
  /** Call `end` when the message is complete (relayed bytes are flushed first). */
  notify: 4,
} as const;

export interface ScanSink {
  begin(type: number, length: number): number;
  /** Contiguous bytes to relay, in stream order; `bytes` may be a view of the incoming chunk. */
  forward(bytes: Buffer): void;
  end(type: number, captured: Buffer | null): void;
}

/**
 * Finds message boundaries in a server's byte stream without buffering messages: runs
 * of relayed messages leave as views of the incoming chunk (a whole chunk in one
 * write when nothing in it needs attention), so result rows are never copied or
 * re-encoded. Only messages the sink asks to capture are assembled.
 */
export class FrameScanner {
  private readonly header = Buffer.alloc(5);
  private headerFilled = 0;
  private remaining = 0;
  private flags = 0;
  private type = 0;
  private captured: Buffer | null = null;
  private capturedFilled = 0;

  constructor(private readonly sink: ScanSink) {}

  push(chunk: Buffer): void {
    const sink = this.sink;
    const end = chunk.length;
    let pos = 0;
    let run = -1;
    while (pos < end) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, end - pos);
        if (this.flags & ScanFlag.forward) {
          if (run < 0) run = pos;
        } else if (run >= 0) {
          sink.forward(chunk.subarray(run, pos));
          run = -1;
        }
        if (this.captured) {
          chunk.copy(this.captured, this.capturedFilled, pos, pos + take);
          this.capturedFilled += take;
        }
        pos += take;
        this.remaining -= take;
        if (this.remaining === 0 && this.flags & (ScanFlag.capture | ScanFlag.notify)) {
          if (run >= 0) {
            sink.forward(chunk.subarray(run, pos));
            run = -1;
          }
          this.finish();
        }
        continue;
      }
      // A header, possibly split across chunks.
      if (this.headerFilled > 0 || end - pos < 5) {
        const take = Math.min(5 - this.headerFilled, end - pos);
        if (run >= 0) {
          sink.forward(chunk.subarray(run, pos));
          run = -1;
        }
        chunk.copy(this.header, this.headerFilled, pos, pos + take);
        this.headerFilled += take;
        pos += take;
        if (this.headerFilled < 5) break;
        this.headerFilled = 0;
        this.start(this.header, 0);
        if (this.flags & ScanFlag.forward) sink.forward(Buffer.from(this.header));
        if (this.captured) {
          this.header.copy(this.captured, 0);
          this.capturedFilled = 5;
        }
      } else {
        this.start(chunk, pos);
        if (this.flags & ScanFlag.forward) {
          if (run < 0) run = pos;
        } else if (run >= 0) {
          sink.forward(chunk.subarray(run, pos));
          run = -1;
        }
        if (this.captured) {
          chunk.copy(this.captured, 0, pos, pos + 5);
          this.capturedFilled = 5;
        }
        pos += 5;
      }
      if (this.remaining === 0 && this.flags & (ScanFlag.capture | ScanFlag.notify)) {
        if (run >= 0) {
          sink.forward(chunk.subarray(run, pos));
          run = -1;
        }
        this.finish();
      }
    }
    if (run >= 0) sink.forward(run === 0 && pos === end ? chunk : chunk.subarray(run, pos));
  }

  private start(source: Buffer, at: number): void {
    this.type = source[at];
    const length = source.readInt32BE(at + 1);
    if (length < 4) throw new ProtocolError(ProtocolErrorCode.malformedLength, `server sent invalid message length ${length}`);
    this.remaining = length - 4;
    this.flags = this.sink.begin(this.type, length);
    this.captured = this.flags & ScanFlag.capture ? Buffer.allocUnsafe(length + 1) : null;
  }

  private finish(): void {
    const captured = this.captured;
    this.captured = null;
    this.sink.end(this.type, captured);
  }
}
