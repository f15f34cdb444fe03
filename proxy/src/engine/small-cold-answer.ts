import { Readable } from 'node:stream';

/**
 * Short ranges stay cheap (issue 14, item 5): a temporary table costs a statement to
 * create it, one to COPY into it and catalog work again when the transaction drops it —
 * several times what ClickHouse takes to answer a top-N or a few hundred partial groups.
 * So a SELECT first reads up to SMALL_COLD_ANSWER_BYTES of an occurrence's cold answer;
 * when the answer ends within them it travels as array parameters of the rewritten
 * statement (inline-cold-rows.ts, as in READ ONLY blocks), and only a larger one is
 * staged in a temporary table, the bytes already read first.
 */
export const SMALL_COLD_ANSWER_BYTES = 1 << 20;

export type SmallAnswer = { ended: true; bytes: Buffer } | { ended: false; stream: Readable };

/** Reads `stream` up to `maxBytes`: the whole answer if it ends by then, else the same bytes as a stream again. */
export function readSmallAnswer(stream: Readable, maxBytes = SMALL_COLD_ANSWER_BYTES): Promise<SmallAnswer> {
  return new Promise((resolve, reject) => {
    const head: Buffer[] = [];
    let bytes = 0;
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      head.push(chunk);
      bytes += chunk.length;
      if (bytes <= maxBytes) return;
      stream.pause();
      cleanup();
      resolve({ ended: false, stream: rejoined(head, stream) });
    };
    const onEnd = () => {
      cleanup();
      // One buffer: a character split across chunks stays whole for the text decoding after.
      resolve({ ended: true, bytes: Buffer.concat(head) });
    };
    const onError = (err: unknown) => {
      cleanup();
      reject(err);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}

/** The chunks already read, then the rest of `stream` (with its backpressure). */
function rejoined(head: Buffer[], stream: Readable): Readable {
  return Readable.from(
    (async function* () {
      yield* head;
      yield* stream;
    })(),
    { objectMode: false },
  );
}
