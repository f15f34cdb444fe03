import { loadModule, parseSync } from 'libpg-query';
import { SqlRefusedError, SqlStatementError } from '../errors';

/**
 * What /v1/sql answers: one SELECT (WITH … SELECT, VALUES, TABLE) or an EXPLAIN of one,
 * checked with PostgreSQL's own parser (libpg_query) before anything reaches PostgreSQL.
 * This is the first of three fences (docs/security.md, "Gateway: the SQL API"): the role
 * the statement runs as may only read, and its transaction is always rolled back, so a
 * function that writes is stopped or undone even though a SELECT may call it.
 */

/** libpg_query's JSON parse tree: `{ NodeType: { ...fields } }`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type PgNode = any;

let loaded: Promise<void> | undefined;

/** Loads the parser (WebAssembly, once per process); checkReadStatement needs it. */
export function loadStatementParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

/** Nodes that write, wherever they appear (a WITH clause may hold one). */
const WRITING_NODES: Record<string, string> = {
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
};

/** Names for the statements people send most often; the rest from the node's name. */
const STATEMENT_NAMES: Record<string, string> = {
  ...WRITING_NODES,
  CreateStmt: 'CREATE TABLE',
  CreateTableAsStmt: 'CREATE TABLE AS',
  DropStmt: 'DROP',
  TruncateStmt: 'TRUNCATE',
  CopyStmt: 'COPY',
  VariableSetStmt: 'SET',
  VariableShowStmt: 'SHOW',
  TransactionStmt: 'a transaction statement (BEGIN, COMMIT, ROLLBACK)',
  DoStmt: 'DO',
  CallStmt: 'CALL',
  GrantStmt: 'GRANT',
  GrantRoleStmt: 'GRANT',
  DeclareCursorStmt: 'DECLARE',
  PrepareStmt: 'PREPARE',
  ExecuteStmt: 'EXECUTE',
  LockStmt: 'LOCK',
  ListenStmt: 'LISTEN',
  NotifyStmt: 'NOTIFY',
};

function statementName(node: string): string {
  return STATEMENT_NAMES[node] ?? node.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}

const ANSWERED = 'only SELECT, WITH … SELECT and EXPLAIN are answered here';

/**
 * Throws SqlRefusedError (400) naming why the text is not one reading statement, or
 * SqlStatementError 42601 when PostgreSQL's parser rejects it.
 */
export function checkReadStatement(sql: string): void {
  let stmts: Array<{ stmt?: PgNode }>;
  try {
    stmts = (parseSync(sql) as { stmts?: Array<{ stmt?: PgNode }> }).stmts ?? [];
  } catch (err) {
    const message = (err as { sqlDetails?: { message?: string } }).sqlDetails?.message ?? (err as Error).message;
    throw new SqlStatementError('42601', message);
  }
  if (stmts.length === 0) throw new SqlRefusedError('the text holds no statement');
  if (stmts.length > 1) throw new SqlRefusedError(`one statement per request: this text holds ${stmts.length}`);
  const stmt = stmts[0].stmt as PgNode;
  const [kind] = Object.keys(stmt);
  if (kind === 'SelectStmt') return checkQuery(stmt);
  if (kind === 'ExplainStmt') {
    const query = stmt.ExplainStmt.query as PgNode;
    const [inner] = Object.keys(query);
    if (inner !== 'SelectStmt') throw new SqlRefusedError(`EXPLAIN of ${statementName(inner)}: ${ANSWERED}`);
    return checkQuery(query);
  }
  throw new SqlRefusedError(`${statementName(kind)}: ${ANSWERED}`);
}

/** Walks the whole query: CTEs, subqueries, set operations. */
function checkQuery(node: PgNode): void {
  if (Array.isArray(node)) {
    for (const n of node) checkQuery(n);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if (key in WRITING_NODES) throw new SqlRefusedError(`a WITH clause or subquery holding ${WRITING_NODES[key]}: ${ANSWERED}, and they may not write`);
    if (key === 'intoClause' && value) throw new SqlRefusedError(`SELECT INTO creates a table: ${ANSWERED}, and they may not write`);
    if (key === 'lockingClause' && Array.isArray(value) && value.length > 0) {
      throw new SqlRefusedError(`FOR UPDATE / FOR SHARE locks rows: ${ANSWERED}, without row locks`);
    }
    checkQuery(value);
  }
}
