export { conditionToClickHouse } from './ch-condition';
export { ChParams } from './ch-params';
export { timePredicateOf, timePredicateToClickHouse, rangeOf, isConstantExpr, type TimePredicate, type TimeRange } from './time-predicate';
export { timeGranularity, fixedIntervalUs } from './time-granularity';
export { instantFromEpochText, chDateTime64, isoInstant, type Instant } from './instant';
