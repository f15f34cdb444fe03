export { createRouter, readsTieredTable } from './router';
export { catalogSnapshot, findRelation, type CatalogSnapshot, type TieredRelation, type TieredColumnInfo } from './catalog-snapshot';
export { loadSqlParser, parseStatements, deparseStatement, SqlParseError, type ParsedStatement } from './sql-parser';
export { routeMode, routeSettingOf, ROUTE_SETTING, type RouteMode } from './route-setting';
export { findTieredRefs, type TieredRef } from './tiered-refs';
