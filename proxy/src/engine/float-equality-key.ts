/**
 * A ClickHouse float (Float32 or Float64, Nullable or not) as a key whose ClickHouse
 * equality is PostgreSQL's float equality, for partitioning (top-k.ts) and counting
 * distinct values (whole-aggregate.ts). ClickHouse's hash tables compare floats by their
 * bits, so -0 and 0 are two keys and so is every NaN payload; PostgreSQL has -0 = 0 and
 * NaN = NaN (every NaN). `x + 0.` turns -0 into +0 (IEEE: -0 + +0 = +0) and `nan` makes
 * every NaN (-nan — x86's 0/0 and PostgreSQL's Infinity - Infinity —, any payload) the one
 * `nan`. NULL stays NULL (isNaN of NULL is NULL, so `if` takes `x + 0.`): its own
 * partition, skipped by uniqExact. A Float32 widens to Float64 exactly, so distinct reals
 * stay distinct. Measured in chDB (Float64 and Float32, 1M rows, two threads): -0 and 0
 * one key, nan/-nan/0/0/other payloads one key, NULL its own (test/routing/
 * float-partition-top-k.test.ts, float-count-distinct.test.ts).
 */
export function floatEqualityKeySql(chExpr: string): string {
  return `if(isNaN(${chExpr}), nan, ${chExpr} + 0.)`;
}
