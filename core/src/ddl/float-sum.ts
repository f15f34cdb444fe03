/**
 * PostgreSQL's sum of float8/float4 as a ClickHouse aggregate. PostgreSQL's sum (float8pl,
 * float4pl) has no initial value: the first non-NULL input becomes the state, so a group
 * whose every non-NULL value is -0 sums to -0, while ClickHouse's sum starts from +0
 * (+0 + -0 = +0). The sum is -0 exactly when every input is -0: x + y is -0 only when both
 * are (round to nearest), and any other value leaves a non-zero sum or +0. So a zero sum
 * becomes -0 when every input carries the sign bit (groupBitAnd of the bits): negative
 * non-zero values cannot sum to exactly 0, and a NaN or infinity leaves a sum that is not 0.
 * NULLs are skipped by both aggregates; a group of no value gives NULL.
 *
 * `x` is a ClickHouse expression (Float32/Float64, Nullable or not); `condition`, when given,
 * makes it the -If aggregate (a FILTER's rows only).
 */
export function pgFloatSumCh(x: string, condition?: string): string {
  const agg = (fn: string, arg: string) => (condition === undefined ? `${fn}(${arg})` : `${fn}If(${arg}, ${condition})`);
  const value = `toFloat64(${x})`;
  const sum = agg('sum', value);
  const signs = `bitAnd(${agg('groupBitAnd', `reinterpretAsUInt64(${value})`)}, 0x8000000000000000)`;
  return `if(${agg('count', x)} = 0, NULL, if(${sum} = 0 AND ${signs} != 0, -0., ${sum}))`;
}
