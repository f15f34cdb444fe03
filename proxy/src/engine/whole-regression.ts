import { chIdent } from '@strata/core';

/**
 * The two-argument float8 aggregates (integer arguments cast to float8, as PostgreSQL's
 * implicit cast does) PostgreSQL finishes from float8_regr_accum's sums (N,
 * Sx, Sy, Sxx, Syy, Sxy), computed whole by ClickHouse from its stable (Welford) ones:
 * Sxx = N·varPopStable(x), Sxy = N·covarPopStable(y, x). Like float variance
 * (whole-aggregate.ts), the two may differ in the last bits, as PostgreSQL's own parallel
 * plans do. PostgreSQL's rules, kept here (float.c, checked in psql):
 * - rows where either argument is NULL are skipped (both sides read NULL there);
 * - no row → NULL (regr_count: 0); covar_samp of one row → NULL;
 * - Sxx is NaN when an x is NaN or ±Infinity, Syy likewise for y, Sxy for either; Sx and
 *   Sy are plain sums, so regr_avgx of 1 and Infinity is Infinity;
 * - finite inputs whose sums overflow fail the statement (22003), whichever of the
 *   family was asked for (they share one transition).
 * corr, regr_slope, regr_intercept and regr_r2 are not here: PostgreSQL tests Sxx = 0,
 * and its Youngs–Cramer Sxx of a constant x such as 0.1 is rounding noise (2e-33 over
 * 14 rows), so it answers a value (corr 0.73) where Welford's exact 0 gives NULL.
 */
export const REGRESSION_FNS = ['covar_pop', 'covar_samp', 'regr_count', 'regr_avgx', 'regr_avgy', 'regr_sxx', 'regr_syy', 'regr_sxy'] as const;
export type RegressionFn = (typeof REGRESSION_FNS)[number];

export function isRegressionFn(name: string): name is RegressionFn {
  return (REGRESSION_FNS as readonly string[]).includes(name);
}

/** ClickHouse's value of `fn(y, x)` over the group's rows, NULL and NaN where PostgreSQL's are. */
export function regressionChExpr(fn: RegressionFn, yColumn: string, xColumn: string): string {
  const [y, x] = [chIdent(yColumn), chIdent(xColumn)];
  // Each side NULL wherever the other is: every aggregate below skips the pair.
  const ys = `if(isNull(${x}), NULL, toFloat64(${y}))`;
  const xs = `if(isNull(${y}), NULL, toFloat64(${x}))`;
  const n = `count(${xs})`;
  if (fn === 'regr_count') return n;
  const finiteX = `countIf(NOT isFinite(${xs})) = 0`;
  const finiteY = `countIf(NOT isFinite(${ys})) = 0`;
  const sxx = `(varPopStable(${xs}) * ${n})`;
  const syy = `(varPopStable(${ys}) * ${n})`;
  const sxy = `(covarPopStable(${ys}, ${xs}) * ${n})`;
  const overflow =
    `throwIf((${finiteX} AND (isInfinite(sum(${xs})) OR isInfinite(${sxx}))) OR (${finiteY} AND (isInfinite(sum(${ys})) OR isInfinite(${syy})))` +
    ` OR (${finiteX} AND ${finiteY} AND isInfinite(${sxy})), 'value out of range: overflow')`;
  const value = {
    covar_pop: `if(${finiteX} AND ${finiteY}, covarPopStable(${ys}, ${xs}), nan)`,
    covar_samp: `if(${finiteX} AND ${finiteY}, covarSampStable(${ys}, ${xs}), nan)`,
    regr_avgx: `sum(${xs}) / ${n}`,
    regr_avgy: `sum(${ys}) / ${n}`,
    regr_sxx: `if(${finiteX}, ${sxx}, nan)`,
    regr_syy: `if(${finiteY}, ${syy}, nan)`,
    regr_sxy: `if(${finiteX} AND ${finiteY}, ${sxy}, nan)`,
  }[fn];
  const tooFew = fn === 'covar_samp' ? `${n} < 2` : `${n} = 0`;
  return `if(${tooFew}, NULL, ${value} + ${overflow})`;
}
