import { hasWrites } from '../router/tiered-refs';
import { deparseStatement, type PgNode } from '../router/sql-parser';
import type { EngineStatement, SessionContext } from './contract';
import { boundWith, loadColdRows, prepareStatement, readsHotOnly } from './cold-rows';
import type { EngineContext } from './engine-context';
import { notSupported } from './errors';
import { explainStatement } from './answer-select';
import { describeStatement, readStatementTables } from './statement-tables';
import { ms, StepTimes } from './step-times';
import type { Transaction } from './transaction';

/**
 * `EXPLAIN ANALYZE` of a SELECT on a tiered table: the statement runs as it would for
 * the client (its rows discarded, as PostgreSQL's EXPLAIN ANALYZE discards them), and the
 * answer says where its time went:
 *
 * 1. the plan, as EXPLAIN prints it (route, plan class, the SQL each tier is sent);
 * 2. `Strata steps`: each engine step with its span from the statement's start — the tier
 *    states' round trip, planning, the ClickHouse read (to its first bytes, then read and
 *    copied or inlined), PostgreSQL's share run while ClickHouse reads, and the rewritten
 *    statement — then `Strata execution time`;
 * 3. PostgreSQL's own EXPLAIN ANALYZE of the rewritten statement (the client's options
 *    kept: BUFFERS, VERBOSE, SETTINGS…), which runs it.
 *
 * Only SELECT: PostgreSQL's EXPLAIN ANALYZE of a DELETE deletes, and the engine's
 * statements that write are not traced. Text format only: the steps are lines of text.
 */
export async function analyzeStatement(ctx: EngineContext, tx: Transaction, explain: PgNode, stmt: EngineStatement, session: SessionContext): Promise<string[]> {
  const query = explain.query;
  const select = query?.SelectStmt;
  if (!select || select.intoClause || hasWrites(query)) {
    throw notSupported('explain-analyze', 'EXPLAIN ANALYZE of a statement other than a SELECT that reads a tiered table', 'EXPLAIN without ANALYZE shows its plan.');
  }
  const plan = await explainStatement(ctx, tx, query, stmt, session);
  const text = deparseStatement(query);
  const times = new StepTimes();
  const tables = await times.time('PostgreSQL: tier states, catalog and description', () =>
    readStatementTables(ctx, tx, query, session, undefined, { text, paramTypes: stmt.paramTypes }),
  );
  const described = tables.described ?? (await times.time('PostgreSQL: statement described', () => describeStatement(ctx, tx, query, text, stmt.paramTypes, tables.snapshot)));
  const p = await times.time('Planned (bounds evaluated, route chosen)', () => prepareStatement(tx, query, stmt, session, described.paramTypes, tables));
  p.trace = times;
  const hotOnly = readsHotOnly(p);
  const extra = hotOnly ? [] : await loadColdRows(ctx, tx, p, false, described.paramTypes.length, true);
  const bound = boundWith(stmt, described.paramTypes, extra);
  const analyzed = { ExplainStmt: { ...explain, query: hotOnly ? query : p.plan.stmt } };
  const pg = await times.time(
    hotOnly ? 'PostgreSQL: the statement as written (hot tier only)' : 'PostgreSQL: the rewritten statement',
    () => tx.hot.query(deparseStatement(analyzed), bound.params, bound.types),
  );
  return [
    ...plan,
    'Strata steps (ms from the statement\'s start; PostgreSQL\'s and ClickHouse\'s can overlap):',
    ...times.lines(),
    `Strata execution time: ${ms(times.elapsedMs())} ms`,
    `PostgreSQL's EXPLAIN ANALYZE of the ${hotOnly ? 'statement' : 'rewritten statement'}:`,
    ...pg.rows.map((r) => `  ${r[0] ?? ''}`),
  ];
}

/** `EXPLAIN (ANALYZE …)` as PostgreSQL reads the option: no value, true/on, 1 (false/off/0 otherwise). */
export function analyzeRequested(options: PgNode[] | undefined): boolean {
  const option = explainOption(options, 'analyze');
  if (!option) return false;
  if (!option.arg) return true;
  if (option.arg.Integer) return (option.arg.Integer.ival ?? 0) !== 0;
  if (option.arg.Boolean) return option.arg.Boolean.boolval === true;
  return /^(true|on)$/i.test(option.arg.String?.sval ?? '');
}

/**
 * EXPLAIN of a tiered statement answers in text (the engine's lines, and PostgreSQL's
 * analysis of the rewritten statement in its text form): another FORMAT is refused rather
 * than answered in text a tool would fail to parse as the JSON, XML or YAML it asked for.
 */
export function refuseNonTextFormat(explain: PgNode): void {
  const format: string | undefined = explainOption(explain.options, 'format')?.arg?.String?.sval;
  if (format === undefined || format.toLowerCase() === 'text') return;
  throw notSupported('explain-format', `EXPLAIN (FORMAT ${format.toUpperCase()}) of a statement on a tiered table`, "Use FORMAT TEXT: the engine's plan and steps are lines of text.");
}

/** An EXPLAIN option's DefElem (`arg` absent when written bare: `EXPLAIN (ANALYZE)`). */
function explainOption(options: PgNode[] | undefined, name: string): PgNode | undefined {
  return (options ?? []).find((o) => o.DefElem?.defname === name)?.DefElem;
}

/**
 * EXPLAIN (without ANALYZE) of a statement that modifies a tiered table (DELETE, UPDATE,
 * MERGE, a data-modifying WITH): PostgreSQL's plan of it, which covers the hot rows only,
 * under a line saying so — what the engine does with the cold rows is decided when the
 * statement runs (a cold delete recorded in the same transaction, or a refusal naming
 * what it cannot do; docs/routing.md). Never relayed bare: its text would read as the
 * whole table's plan.
 */
export async function explainModification(tx: Transaction, explain: PgNode, stmt: EngineStatement): Promise<string[]> {
  const pg = await tx.hot.query(deparseStatement({ ExplainStmt: explain }), stmt.params, stmt.paramTypes);
  return [
    'Strata route: modify',
    "Strata: PostgreSQL's plan below covers the hot rows only. Rows of the cold tier the statement reaches are removed by a cold delete recorded in the same transaction (DELETE, TRUNCATE), or the statement is refused with 0A000 naming what cannot reach them.",
    ...pg.rows.map((r) => r[0] ?? ''),
  ];
}
