export { createTierEngine, type TierEngine, type TierEngineOptions, type HotPool, type HotClient, type EngineLogger, type TierRoute } from './tier-engine';
export { loadCatalogSnapshot } from './catalog-loader';
export { describeStatement, runStatement } from './pg-extended-query';
export { planStatement, coldQuery, type StatementPlan, type OccurrencePlan } from './plan';
