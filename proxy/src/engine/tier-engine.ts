import { routedPlan } from '../router/routed-plan';
import { routeSettingOf } from '../router/route-setting';
import { answerModify } from './answer-modify';
import { answerRewritten } from './answer-rewritten';
import { answerSelect, explainStatement } from './answer-select';
import { analyzeRequested, analyzeStatement, explainModification, refuseNonTextFormat } from './explain-analyze';
import { SqlStateError, type EngineResult, type QueryEngine, type ResultField } from './contract';
import { engineContext, type EngineStats, type TierEngineOptions } from './engine-context';
import { notSupported, RefusedError, toSqlStateError } from './errors';
import type { PortalRows } from './pg-extended-query';
import { fixedResult, streamedFrames, streamedResult } from './results';
import { refuseRollupWrites } from './rollup-relation';
import { describeStatement } from './statement-tables';
import { begin, sessionFor, UTC_ZONES, type Transaction } from './transaction';

export type { EngineLogger, EngineStats, TierEngineOptions, TierRoute } from './engine-context';

export interface TierEngine extends QueryEngine {
  /** Statements answered per route, and refusals (SQLSTATE 0A000). */
  readonly stats: EngineStats;
}

const QUERY_PLAN_FIELD: ResultField = { name: 'QUERY PLAN', tableOid: 0, columnAttr: 0, typeOid: 25, typeSize: -1, typeModifier: -1 };

/**
 * The tier engine: each statement on a tiered table, in the session it is given (the
 * client's, in the proxy), in order —
 *   1. the transaction it runs in (transaction.ts: the client's block, or one of its own);
 *   2. its tables as that snapshot has them (statement-tables.ts: W, visibility, specs);
 *   3. PostgreSQL's description of it, then its plan and route (plan.ts, cold-rows.ts);
 *   4. cold rows staged next to the hot ones (cold-rows.ts, inline-cold-rows.ts);
 *   5. the statement run over both (answer-select.ts, answer-rewritten.ts, answer-modify.ts),
 *      its rows streamed from PostgreSQL as the consumer reads them (results.ts).
 */
export function createTierEngine(opts: TierEngineOptions): TierEngine {
  const ctx = engineContext(opts);
  const { stats } = ctx;

  function countRefusal(err: unknown): unknown {
    const e = toSqlStateError(err);
    if (e instanceof RefusedError) {
      stats.refused++;
      stats.refusals[e.construct] = (stats.refusals[e.construct] ?? 0) + 1;
    }
    return e;
  }

  return {
    stats,
    async describe(stmt, session, given) {
      const { hot, done, settings } = await sessionFor(ctx, given, session);
      let tx: Transaction | undefined;
      try {
        const statements = stmt.plan?.statements ?? routedPlan(stmt.sql, ctx.snapshot()).statements;
        const last = statements[statements.length - 1];
        if (last?.tree?.ExplainStmt) return { paramTypes: stmt.paramTypes, fields: [QUERY_PLAN_FIELD] };
        tx = await begin(hot, settings, undefined, ctx.opts.statementTimeoutMs);
        return last ? await describeStatement(ctx, tx, last.tree, stmt.sql, stmt.paramTypes) : await tx.hot.describe(stmt.sql, stmt.paramTypes);
      } catch (err) {
        throw toSqlStateError(err);
      } finally {
        // A describe changes nothing: a block of the engine's own is rolled back.
        if (tx?.own) await tx.end(false).catch(() => undefined);
        await done(false);
      }
    },

    async execute(stmt, session, signal, given) {
      const snap = ctx.snapshot();
      const statements = stmt.plan?.statements ?? routedPlan(stmt.sql, snap).statements;
      if (statements.length === 0) return fixedResult([], [], '');
      const { hot, done, settings } = await sessionFor(ctx, given, session);
      let tx: Transaction | undefined;
      // `portal`: the streamed result's, closed by the transaction's end (with its COMMIT).
      const finish = async (ok: boolean, portal?: PortalRows) => {
        const t = tx;
        tx = undefined;
        let broken = true;
        try {
          await t?.end(ok, portal).catch((err: unknown) => {
            throw toSqlStateError(err);
          });
          broken = false;
        } finally {
          await done(broken);
        }
      };
      let handedOff = false;
      try {
        // A lone DELETE / TRUNCATE in autocommit runs READ COMMITTED, as PostgreSQL's own
        // would: concurrent deletes of a table then wait for each other instead of failing.
        const lone = statements.length === 1 ? statements[0].tiered : undefined;
        tx = await begin(hot, settings, lone?.kind === 'modify' ? 'READ COMMITTED' : 'REPEATABLE READ', ctx.opts.statementTimeoutMs);
        let last: EngineResult | undefined;
        for (const [i, routed] of statements.entries()) {
          signal?.throwIfAborted();
          // The tree has views over tiered tables expanded; the text stays the client's.
          const s = { stmt: routed.tree, text: routed.text };
          const sub = { ...stmt, sql: s.text, plan: undefined };
          const isLast = i === statements.length - 1;
          if (s.stmt.VariableSetStmt) {
            if (routeSettingOf(s.stmt) !== undefined) throw notSupported('route-setting-in-string', 'SET strata.route inside a multi-statement string');
            await tx.hot.query(s.text);
            const tz = await tx.hot.query("SELECT current_setting('TimeZone')");
            tx.utc = UTC_ZONES.test(tz.rows[0][0] ?? '');
            last = fixedResult([], [], 'SET');
            continue;
          }
          const { tiered } = routed;
          if (tiered?.kind === 'explain') {
            const explain = s.stmt.ExplainStmt;
            refuseNonTextFormat(explain);
            const lines = analyzeRequested(explain.options)
              ? await analyzeStatement(ctx, tx, explain, sub, session)
              : tiered.explained === 'modify'
                ? await explainModification(tx, explain, sub)
                : await explainStatement(ctx, tx, explain.query, sub, session);
            last = fixedResult([QUERY_PLAN_FIELD], lines.map((l) => [l]), 'EXPLAIN');
            continue;
          }
          if (tiered?.kind === 'prepare') {
            throw notSupported(
              'sql-prepare',
              'SQL-level PREPARE of a statement on a tiered table (its EXECUTE would read the hot tier only)',
              "Prepare it with the extended protocol (the driver's prepared statements), which the proxy answers across both tiers.",
            );
          }
          if (tiered?.kind === 'refresh-matview') {
            throw notSupported(
              'materialized-view',
              'REFRESH of a materialized view over a tiered table (it would store the hot tier\'s rows alone)',
              'Keep the rows in a table and fill it with INSERT … SELECT through the proxy, which reads both tiers.',
            );
          }
          if (tiered?.kind === 'locked-view') {
            const { schema, name } = tiered.view!;
            throw new SqlStateError(
              '55P03',
              `Strata has not read the definition of view "${schema}"."${name}": another transaction holds it locked`,
              'The view reads a tiered table; its definition is read once that transaction ends. Retry then.',
            );
          }
          refuseRollupWrites(tiered);
          if (tiered && tiered.kind !== 'select') {
            if (!isLast) throw notSupported('non-select-in-string', 'statements other than SELECT and SET before the last one of a string');
            const answer = tiered.kind === 'modify' ? await answerModify(ctx, tx, s, tiered, sub, session) : await answerRewritten(ctx, tx, s, tiered, sub, session);
            if (answer.raw) {
              handedOff = true;
              return { ...answer, raw: streamedFrames(answer.raw, finish) };
            }
            await finish(true);
            return answer;
          }
          if (!tiered && (statements.length > 1 || !s.stmt.SelectStmt)) {
            throw notSupported('non-select-in-string', 'statements other than SELECT and SET in a string with a tiered query');
          }
          const answer = await answerSelect(ctx, tx, s, sub, session);
          if (!isLast) {
            while ((await answer.portal.next()) !== null);
            await answer.portal.close();
            continue;
          }
          // The last statement streams: the transaction ends when its rows are consumed.
          handedOff = true;
          return { ...streamedResult(answer.fields, answer.portal, finish, signal), holdsSession: tx.own };
        }
        await finish(true);
        return last!;
      } catch (err) {
        if (!handedOff) await finish(false).catch(() => undefined);
        throw countRefusal(err);
      }
    },
  };
}
