export { startGateway, type Gateway } from './app';
export { resolveGatewayConfig, GATEWAY_DEFAULTS, type GatewayConfig, type BatchConfig } from './config';
export * from './errors';
export { BUILTIN_TABLES, builtinTableSpecs } from './model/builtin-tables';
export { tableModel, Micros, type TableModel } from './model/table-model';
export { jsonbText } from './model/jsonb-text';
export { parseLineProtocol } from './protocols/influx-line-protocol';
export { postgresExecutor, queryEngineExecutor, type SqlBackend, type SqlExecutor, type SqlResult, type QueryEngineLike } from './protocols/sql-http';
export type { TieredTableApplier } from './protocols/kube-tiered-tables';
