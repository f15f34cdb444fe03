/**
 * A ClickHouse float (Float32 or Float64, Nullable or not) as a key whose ClickHouse
 * equality is PostgreSQL's float equality, for partitioning (top-k.ts), counting
 * distinct values and grouping (whole-aggregate.ts). ClickHouse's hash tables compare
 * floats by their bits, so -0 and 0 are two keys and so is every NaN payload; PostgreSQL
 * has -0 = 0 and NaN = NaN (every NaN). `x + 0.` turns -0 into +0 (IEEE: -0 + +0 = +0) and
 * `nan` makes every NaN (-nan — x86's 0/0 and PostgreSQL's Infinity - Infinity —, any
 * payload) the one `nan`. NULL stays NULL (isNaN of NULL is NULL, so `if` takes `x + 0.`):
 * its own partition, skipped by uniqExact. A Float32 widens to Float64 exactly, so
 * distinct reals stay distinct. Measured in chDB (Float64 and Float32, 1M rows, two
 * threads): -0 and 0 one key, nan/-nan/0/0/other payloads one key, NULL its own (test/routing/
 * float-partition-top-k.test.ts, float-count-distinct.test.ts, float-group-whole.test.ts).
 */
export function floatEqualityKeySql(chExpr: string): string {
  return `if(isNaN(${chExpr}), nan, ${chExpr} + 0.)`;
}

/**
 * A float GROUP BY column of a query ClickHouse groups for PostgreSQL (whole pushdown):
 * grouped on the equality key, so ClickHouse's groups are PostgreSQL's, and shown as one of
 * the group's own values with its bits (`any`), which PostgreSQL could have shown too — it
 * shows the first value of a group it meets: a group of -0 alone shows -0, one of -0 and 0
 * either, one of NaNs NaN, the NULL group NULL. (The key itself would show 0 for a group of
 * -0 alone.)
 */
export function floatGroupSql(chExpr: string): { key: string; value: string } {
  return { key: floatEqualityKeySql(chExpr), value: `any(${chExpr})` };
}
