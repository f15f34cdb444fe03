// `@strata/core/ddl`: the SQL and DDL text builders, pure (no I/O; nothing from cold/,
// catalog/ or tiering/), so the proxy's router and translator can import them.
export * from './sql';
export * from './column-types';
export * from './float-sum';
export * as clickhouseDdl from './clickhouse';
export * as postgresDdl from './postgres';
