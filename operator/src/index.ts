export { startOperator, type OperatorHandle, type OperatorDeps } from './operator';
export { resolveOperatorConfig, type OperatorConfig } from './config';
export { CONDITION, REASON } from './conditions';
export { EVENT_REASON } from './events';
export { FINALIZER } from './finalizer';
export { SECRET_KEYS } from './connections';
export { RECONCILE_STEPS } from './reconcile/reconcile';
