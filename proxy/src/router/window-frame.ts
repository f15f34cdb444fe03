import { Deparser } from 'pgsql-deparser';
import type { PgNode } from './sql-parser';

/**
 * A window's frame clause as PostgreSQL's parser recorded it (WindowDef.frameOptions,
 * parsenodes.h's FRAMEOPTION_ bits, with startOffset / endOffset), back into SQL.
 *
 * pgsql-deparser 17.18's own formatWindowFrame reads those bits one position off and
 * special-cases a few values, so a rewritten statement changed its frames silently —
 * `ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING` came back `… AND CURRENT
 * ROW`, `ROWS UNBOUNDED PRECEDING` as `ROWS BETWEEN CURRENT ROW AND CURRENT ROW`,
 * `RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING` as `UNBOUNDED PRECEDING AND CURRENT
 * ROW` — or failed (`2 PRECEDING AND 1 PRECEDING` as `2 FOLLOWING AND 1 PRECEDING`).
 * window-frame.test.ts round-trips every frame PostgreSQL accepts.
 */
export const FRAME_OPTIONS = {
  nondefault: 0x00001,
  rows: 0x00004,
  groups: 0x00008,
  between: 0x00010,
  startUnboundedPreceding: 0x00020,
  endUnboundedFollowing: 0x00100,
  startCurrentRow: 0x00200,
  endCurrentRow: 0x00400,
  startOffsetPreceding: 0x00800,
  endOffsetPreceding: 0x01000,
  startOffsetFollowing: 0x02000,
  endOffsetFollowing: 0x04000,
  excludeCurrentRow: 0x08000,
  excludeGroup: 0x10000,
  excludeTies: 0x20000,
} as const;
const F = FRAME_OPTIONS;

type Bound = readonly [bit: number, sql: (offset: () => string) => string];

/** A frame's start and end: each bound's bit and its SQL (an offset's expression deparsed on demand). */
const START: readonly Bound[] = [
  [F.startUnboundedPreceding, () => 'UNBOUNDED PRECEDING'],
  [F.startCurrentRow, () => 'CURRENT ROW'],
  [F.startOffsetPreceding, (x) => `${x()} PRECEDING`],
  [F.startOffsetFollowing, (x) => `${x()} FOLLOWING`],
];
const END: readonly Bound[] = [
  [F.endUnboundedFollowing, () => 'UNBOUNDED FOLLOWING'],
  [F.endCurrentRow, () => 'CURRENT ROW'],
  [F.endOffsetPreceding, (x) => `${x()} PRECEDING`],
  [F.endOffsetFollowing, (x) => `${x()} FOLLOWING`],
];

/** The frame clause, or null for the default frame (no frame clause written). */
export function windowFrameSql(over: PgNode, offset: (n: PgNode) => string): string | null {
  const o: number = over.frameOptions ?? 0;
  if ((o & F.nondefault) === 0) return null;
  const mode = o & F.rows ? 'ROWS' : o & F.groups ? 'GROUPS' : 'RANGE';
  const bound = (bounds: readonly Bound[], at: PgNode) => bounds.find(([bit]) => o & bit)?.[1](() => offset(at));
  const start = bound(START, over.startOffset);
  const end = bound(END, over.endOffset);
  if (start === undefined || end === undefined) throw new Error(`window frame options 0x${o.toString(16)} name no frame PostgreSQL accepts`);
  const exclude = o & F.excludeCurrentRow ? ' EXCLUDE CURRENT ROW' : o & F.excludeGroup ? ' EXCLUDE GROUP' : o & F.excludeTies ? ' EXCLUDE TIES' : '';
  // Without BETWEEN the frame ends at CURRENT ROW (the bits say so too).
  return o & F.between ? `${mode} BETWEEN ${start} AND ${end}${exclude}` : `${mode} ${start}${exclude}`;
}

/**
 * The statement with every window that refers to a named one (`OVER (w ORDER BY …)`, a
 * WINDOW entry `x AS (w …)`) spelled out in full: w's PARTITION BY, w's ORDER BY or else
 * its own, its own frame — PostgreSQL's rules (a reference never brings a frame; the
 * statement as written was described by PostgreSQL first, so one breaking them has
 * already failed there). pgsql-deparser drops the reference, which silently dropped w's
 * PARTITION BY and ORDER BY from a rewritten statement. `OVER w` alone it keeps. `stmt`
 * is not changed: a copy is made when it has a reference.
 */
export function withWindowRefsInlined(stmt: PgNode): PgNode {
  if (!JSON.stringify(stmt).includes('"refname"')) return stmt;
  const copy = structuredClone(stmt);
  const visit = (n: PgNode, defs: ReadonlyMap<string, PgNode>): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach((x) => visit(x, defs));
    let scope = defs;
    if (n.SelectStmt) {
      // Window names belong to their query level; an entry may refer to an earlier one.
      const own = new Map<string, PgNode>();
      for (const w of (n.SelectStmt.windowClause ?? []) as PgNode[]) {
        inline(w.WindowDef, own);
        own.set(w.WindowDef.name, w.WindowDef);
      }
      scope = own;
    }
    if (n.FuncCall?.over) inline(n.FuncCall.over, scope);
    for (const v of Object.values(n)) visit(v, scope);
  };
  visit(copy, new Map());
  return copy;
}

/** Replaces `def`'s reference by what it brings (in place); an unknown name is left for PostgreSQL to refuse. */
function inline(def: PgNode, defs: ReadonlyMap<string, PgNode>): void {
  const base = def.refname ? defs.get(def.refname) : undefined;
  if (!base) return;
  delete def.refname;
  if (base.partitionClause) def.partitionClause = base.partitionClause;
  if (base.orderClause) def.orderClause = base.orderClause;
}

/**
 * The window a call is computed over, in a statement whose references are inlined
 * (withWindowRefsInlined): `OVER w` is the WINDOW clause's w, `OVER (…)` itself.
 * Undefined for a name the clause does not define (PostgreSQL refuses the statement).
 */
export function windowOfCall(over: PgNode, windowClause: readonly PgNode[] | undefined): PgNode | undefined {
  if (over.refname) return undefined;
  return over.name ? windowClause?.find((w) => w.WindowDef.name === over.name)?.WindowDef : over;
}

/** pgsql-deparser with window frames written from PostgreSQL's own bits. */
export class FrameFaithfulDeparser extends Deparser {
  override formatWindowFrame(node: PgNode, context: Parameters<Deparser['formatWindowFrame']>[1]): string | null {
    return windowFrameSql(node, (n) => this.visit(n, context));
  }
}
