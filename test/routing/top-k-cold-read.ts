import type { Client } from 'pg';
import type { ColdStore, QueryParams } from '@strata/core';

/** EXPLAIN through the proxy, its lines joined. */
export async function explainText(client: Client, sql: string, values?: unknown[]): Promise<string> {
  return (await client.query({ text: `EXPLAIN ${sql}`, values })).rows.map((r) => r['QUERY PLAN']).join('\n');
}

/**
 * The statement's plan class as EXPLAIN names it, and what its cold query reads: `rows`
 * it returns (a top-k's candidates) vs `inRange`, every cold row the same query without
 * its QUALIFY returns. Run against `cold` with the parameters EXPLAIN prints.
 */
export async function topKColdRead(client: Client, cold: ColdStore, sql: string, values?: unknown[]): Promise<{ planClass: string; rows: number; inRange: number }> {
  const text = await explainText(client, sql, values);
  const planClass = /Strata plan class: (\S+)/.exec(text)?.[1] ?? '?';
  const chSql = /ClickHouse: (SELECT .*)/.exec(text)?.[1];
  if (!chSql) return { planClass, rows: 0, inRange: 0 };
  const params: QueryParams = {};
  for (const m of (/ClickHouse parameters: (.*)/.exec(text)?.[1] ?? '').matchAll(/(\w+) = ("(?:[^"\\]|\\.)*"|[^,]+)/g)) params[m[1]] = JSON.parse(m[2]);
  const count = async (q: string) => Number((await cold.query<{ n: string }>(`SELECT count() AS n FROM (${q})`, params))[0].n);
  return { planClass, rows: await count(chSql), inRange: await count(chSql.replace(/ QUALIFY .*$/, '')) };
}

/** The SELECT an EXPLAIN shows as "Hot rows shipped:" (whole aggregates), to run on PostgreSQL. */
export function shippedSelectOf(plan: string): string {
  const select = /Hot rows shipped: (SELECT\b[\s\S]*?)\n {2}(?:PostgreSQL, while ClickHouse reads|ClickHouse): /.exec(plan)?.[1];
  if (select === undefined) throw new Error(`no shipped hot rows in the plan:\n${plan}`);
  return select;
}
