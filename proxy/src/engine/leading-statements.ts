import { runInOrder, type HotSession, type PipelinedStatement, type QueryResult, type TxStatus } from './hot-session';

/**
 * `hot`, with `leading` statements (the engine's BEGIN and settings, transaction.ts) sent
 * ahead of the first thing it is asked: in the same pipeline when that is a pipeline, a
 * statement or a describe and the session pipelines (one round trip fewer per statement,
 * docs/routing.md), else on their own just before.
 * `onResults` gets their results once they have run; if they fail, the error is the
 * caller's as any other of the pipeline's. Until they are sent, `status()` is
 * `statusAfter`, the status they leave the session in.
 */
export function withLeadingStatements(
  hot: HotSession,
  leading: PipelinedStatement[],
  onResults: (results: QueryResult[]) => void,
  statusAfter: TxStatus,
): HotSession {
  let waiting: PipelinedStatement[] | null = leading;
  const take = () => {
    const w = waiting;
    waiting = null;
    return w;
  };
  const flush = async () => {
    const w = take();
    if (w) onResults(await runInOrder(hot, w));
  };
  // One statement or describe asked first: the leading ones travel with it too.
  const withLeading = async (statement: PipelinedStatement): Promise<QueryResult | undefined> => {
    if (!waiting || !session.pipeline) return undefined;
    return (await session.pipeline([statement]))[0];
  };
  const session: HotSession = {
    status: () => (waiting ? statusAfter : hot.status()),
    async query(sql, params, paramTypes) {
      const together = await withLeading({ sql, params, paramTypes });
      if (together) return together;
      await flush();
      return hot.query(sql, params, paramTypes);
    },
    async describe(sql, paramTypes) {
      const together = await withLeading({ sql, paramTypes, describeOnly: true });
      if (together) return { paramTypes: together.paramTypes ?? [], fields: together.fields };
      await flush();
      return hot.describe(sql, paramTypes);
    },
    async openPortal(sql, params, paramTypes, pageRows, name) {
      await flush();
      return hot.openPortal(sql, params, paramTypes, pageRows, name);
    },
    async copyIn(sql, source) {
      await flush();
      return hot.copyIn(sql, source);
    },
  };
  if (hot.pipeline) {
    session.pipeline = async (statements) => {
      const w = take();
      if (!w) return hot.pipeline!(statements);
      const results = await hot.pipeline!([...w, ...statements]);
      onResults(results.slice(0, w.length));
      return results.slice(w.length);
    };
  }
  if (hot.copyOut) {
    session.copyOut = async function* (sql, params, paramTypes) {
      await flush();
      yield* hot.copyOut!(sql, params, paramTypes);
    };
  }
  return session;
}
