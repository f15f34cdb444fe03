export { createTierEngine, type TierEngine, type TierEngineOptions, type EngineLogger, type TierRoute } from './tier-engine';
export { loadCatalogSnapshot } from './catalog-loader';
export { describeStatement, runStatement } from './pg-extended-query';
export { planStatement, coldQuery, type StatementPlan, type OccurrencePlan } from './plan';
export type { HotSession, TxStatus, QueryResult } from './hot-session';
export { pgHotSession } from './pg-hot-session';
export { PLAN_CLASSES, planClassOf, type PlanClass } from './plan-class';
