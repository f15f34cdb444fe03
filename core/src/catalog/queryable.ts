import type { QueryResult, QueryResultRow } from 'pg';

/** What catalog and DDL code needs from a PostgreSQL connection (pg.Client or pg.PoolClient). */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}
