import type { RoutedPlan } from '../router/routed-plan';
import { deparseStatement, parseStatements, SqlParseError, type PgNode } from '../router/sql-parser';

/**
 * SQL-level PREPARE / EXECUTE / DEALLOCATE of statements on tiered tables, kept in the
 * client's session by the proxy: a server-side prepared statement would read the hot
 * tier only. EXECUTE becomes the prepared statement with each `$n` replaced by its
 * argument (cast to the declared type), which the engine then answers across both tiers.
 * Statements on other tables are PostgreSQL's own, prepared there as usual.
 *
 * Differences from PostgreSQL, documented in proxy/ROUTING.md: the statement is checked
 * when it is executed, not when it is prepared; an argument is evaluated where its `$n`
 * stands (a volatile argument used twice is evaluated twice).
 */
export class SqlPreparedStatements {
  private readonly byName = new Map<string, { query: PgNode; types: PgNode[] }>();

  get size(): number {
    return this.byName.size;
  }

  /** PREPARE of a statement on a tiered table, as the router planned it: kept; the command tag, or undefined. */
  prepare(plan: RoutedPlan | undefined): string | undefined {
    const only = plan?.statements.length === 1 ? plan.statements[0] : undefined;
    const prepare = only?.tiered?.kind === 'prepare' ? only.tree.PrepareStmt : undefined;
    if (!prepare) return undefined;
    if (this.byName.has(prepare.name)) throw new PreparedStatementError('42P05', `prepared statement "${prepare.name}" already exists`);
    this.byName.set(prepare.name, { query: prepare.query, types: (prepare.argtypes ?? []).map((t: PgNode) => t.TypeName) });
    return 'PREPARE';
  }

  /**
   * EXECUTE of one kept here: the statement text to run instead. DEALLOCATE of one: its
   * command tag. Anything else: undefined (PostgreSQL's own).
   */
  intercept(sql: string): { run: string } | { tag: string } | undefined {
    if (this.byName.size === 0 || !/^\s*(execute|deallocate)\b/i.test(sql)) return undefined;
    let stmt: PgNode;
    try {
      const parsed = parseStatements(sql);
      if (parsed.length !== 1) return undefined;
      stmt = parsed[0].stmt;
    } catch (err) {
      if (err instanceof SqlParseError) return undefined;
      throw err;
    }
    if (stmt.DeallocateStmt) {
      // DEALLOCATE ALL also reaches PostgreSQL, for the statements prepared there.
      if (stmt.DeallocateStmt.isall || stmt.DeallocateStmt.name === undefined) {
        this.byName.clear();
        return undefined;
      }
      return this.byName.delete(stmt.DeallocateStmt.name) ? { tag: 'DEALLOCATE' } : undefined;
    }
    const execute = stmt.ExecuteStmt;
    const prepared = execute ? this.byName.get(execute.name) : undefined;
    if (!prepared) return undefined;
    const args: PgNode[] = execute.params ?? [];
    let highest = 0;
    const query = structuredClone(prepared.query);
    const visit = (n: PgNode): void => {
      if (n === null || typeof n !== 'object') return;
      if (Array.isArray(n)) return n.forEach(visit);
      for (const [k, v] of Object.entries(n)) {
        const ref = (v as PgNode)?.ParamRef;
        if (ref && typeof ref.number === 'number') {
          highest = Math.max(highest, ref.number);
          const arg = args[ref.number - 1];
          if (arg === undefined) continue;
          const type = prepared.types[ref.number - 1];
          n[k] = type ? { TypeCast: { arg: structuredClone(arg), typeName: structuredClone(type) } } : structuredClone(arg);
          continue;
        }
        visit(v);
      }
    };
    visit(query);
    const expected = Math.max(highest, prepared.types.length);
    if (args.length !== expected) {
      throw new PreparedStatementError('42601', `wrong number of parameters for prepared statement "${execute.name}"`, `Expected ${expected} parameters but got ${args.length}.`);
    }
    return { run: deparseStatement(query) };
  }
}

/** A PREPARE / EXECUTE the proxy answers itself with PostgreSQL's error. */
export class PreparedStatementError extends Error {
  constructor(
    readonly sqlState: string,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'PreparedStatementError';
  }
}
