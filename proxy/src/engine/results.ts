import type { EngineResult, ResultField } from './contract';
import { toSqlStateError } from './errors';
import type { PortalRows } from './pg-extended-query';

/** A result already in hand (a command tag, EXPLAIN lines). */
export function fixedResult(fields: ResultField[], rows: Array<Array<string | null>>, tag: string): EngineResult {
  return {
    fields,
    rows: (async function* () {
      yield* rows;
    })(),
    commandTag: () => tag,
  };
}

/**
 * Rows read page by page from PostgreSQL as the consumer iterates; `finish` (the
 * transaction's end, which closes the portal: Transaction.end) runs when iteration
 * finishes, fails or is abandoned with return(). The consumer must iterate.
 */
export function streamedResult(fields: ResultField[], portal: PortalRows, finish: (ok: boolean, portal: PortalRows) => Promise<void>, signal?: AbortSignal): EngineResult {
  let tag = '';
  let count = 0;
  // One reader of the portal's pages: rows (decoded) or their frames (as PostgreSQL sent them).
  async function* pages<T>(next: () => Promise<T[] | null>): AsyncGenerator<T[]> {
    let ok = false;
    try {
      for (;;) {
        signal?.throwIfAborted();
        const page = await next().catch((err: unknown) => {
          throw toSqlStateError(err);
        });
        if (page === null) break;
        count += page.length;
        yield page;
      }
      // PostgreSQL's tag counts the last page only (each Execute is limited): count all.
      tag = portal.commandTag().replace(/^SELECT \d+$/, `SELECT ${count}`);
      ok = true;
    } finally {
      await finish(ok, portal);
    }
  }
  const nextFrames = portal.nextFrames?.bind(portal);
  return {
    fields,
    rows: (async function* () {
      for await (const page of pages(() => portal.next())) yield* page;
    })(),
    ...(nextFrames ? { rowFrames: pages(nextFrames) } : {}),
    commandTag: () => tag,
  };
}

/** Raw frames (COPY TO): `finish` runs once they are all relayed. */
export function streamedFrames(raw: AsyncIterable<Buffer>, finish: (ok: boolean) => Promise<void>): AsyncIterable<Buffer> {
  return (async function* () {
    let ok = false;
    try {
      yield* raw;
      ok = true;
    } catch (err) {
      throw toSqlStateError(err);
    } finally {
      await finish(ok);
    }
  })();
}
