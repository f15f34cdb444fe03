/**
 * Grafana's PostgreSQL macro expansion, written from the behaviour of Grafana's
 * pkg/tsdb/grafana-postgresql-datasource/macros.go, so tests can send exactly what a
 * dashboard panel sends. Grafana does this on its side: these strings are what reach
 * the wire.
 */
export interface GrafanaTimeRange {
  from: Date;
  to: Date;
}

const MACRO = /\$([_a-zA-Z0-9]+)\(([^)]*)\)/g;

/** Go's time.RFC3339Nano in UTC: fractional seconds only when present, trailing zeros trimmed. */
export function rfc3339Nano(d: Date): string {
  const iso = d.toISOString(); // 2026-01-04T12:00:00.000Z
  const [whole, frac] = iso.slice(0, -1).split('.');
  const f = frac.replace(/0+$/, '');
  return f ? `${whole}.${f}Z` : `${whole}Z`;
}

/** gtime.ParseInterval for the units dashboards use. */
export function intervalSeconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new Error(`error parsing interval ${text}`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

/** Go's %v of a float64 whole or fractional number of seconds. */
const goNumber = (n: number) => String(n);

export function expandGrafanaMacros(sql: string, range: GrafanaTimeRange, opts: { timescaledb?: boolean } = {}): string {
  return sql.replace(MACRO, (whole, name: string, rawArgs: string, offset: number) => {
    // Grafana: `$__timeGroup(...)` directly followed by ',' is the pre-5.3 aliasing form.
    if (name === '__timeGroup' && sql[offset + whole.length] === ',') name = '__timeGroupAlias';
    const args = rawArgs.split(',').map((a) => a.trim());
    return evaluate(name, args, range, Boolean(opts.timescaledb));
  });
}

function evaluate(name: string, args: string[], range: GrafanaTimeRange, timescaledb: boolean): string {
  const need = (n: number) => {
    if (args.length < n || args[0] === '') throw new Error(`missing arguments for macro ${name}`);
  };
  switch (name) {
    case '__time':
      need(1);
      return `${args[0]} AS "time"`;
    case '__timeEpoch':
      need(1);
      return `extract(epoch from ${args[0]}) as "time"`;
    case '__timeFilter':
      need(1);
      return `${args[0]} BETWEEN '${rfc3339Nano(range.from)}' AND '${rfc3339Nano(range.to)}'`;
    case '__timeFrom':
      return `'${rfc3339Nano(range.from)}'`;
    case '__timeTo':
      return `'${rfc3339Nano(range.to)}'`;
    case '__timeGroup': {
      need(2);
      const s = intervalSeconds(args[1].replace(/^'|'$/g, ''));
      return timescaledb ? `time_bucket('${s.toFixed(3)}s',${args[0]})` : `floor(extract(epoch from ${args[0]})/${goNumber(s)})*${goNumber(s)}`;
    }
    case '__timeGroupAlias':
      return `${evaluate('__timeGroup', args, range, timescaledb)} AS "time"`;
    case '__unixEpochFilter': {
      need(1);
      const from = Math.floor(range.from.getTime() / 1000);
      const to = Math.floor(range.to.getTime() / 1000);
      return `${args[0]} >= ${from} AND ${args[0]} <= ${to}`;
    }
    case '__unixEpochGroup': {
      need(2);
      const s = intervalSeconds(args[1].replace(/^'|'$/g, ''));
      return `floor((${args[0]})/${goNumber(s)})*${goNumber(s)}`;
    }
    case '__unixEpochGroupAlias':
      return `${evaluate('__unixEpochGroup', args, range, timescaledb)} AS "time"`;
    default:
      throw new Error(`unknown macro "${name}"`);
  }
}

/** A dashboard variable's current value: one value, or several for multi-value / include-All variables. */
export type GrafanaVariableValue = string | { multi: string[] };

/**
 * Grafana's template variable interpolation for its SQL datasources (the frontend's
 * templateSrv.replace with SqlDatasource.interpolateVariable), which runs before the
 * backend expands macros: `$name`, `${name}` and `[[name]]` become a single value with
 * its quotes doubled and no quotes around it (the panel writes `'$name'`), or, for a
 * multi-value variable, each value quoted and joined with commas (`IN ($name)`).
 * Names starting with `__` are Grafana's own (`$__timeFilter`, …): left alone, as
 * Grafana does for names it has no variable for.
 */
export function interpolateGrafanaVariables(sql: string, variables: Record<string, GrafanaVariableValue>): string {
  const VARIABLE = /\$(\w+)|\[\[(\w+)\]\]|\$\{(\w+)\}/g;
  return sql.replace(VARIABLE, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    const value = variables[name];
    if (value === undefined) return whole;
    if (typeof value === 'string') return value.replace(/'/g, "''");
    return value.multi.map((v) => `'${v.replace(/'/g, "''")}'`).join(',');
  });
}

/**
 * Grafana's ClickHouse datasource macros (grafana/clickhouse-datasource pkg/macros):
 * `$__fromTime`/`$__toTime` → `toDateTime(<unix seconds>)`, `$__fromTime_ms`/`$__toTime_ms`
 * → `fromUnixTimestamp64Milli(<ms>)`, `$__timeFilter(c)` → `c >= toDateTime(s) AND c <= toDateTime(s)`.
 * Grafana's own globals `$__from`/`$__to` (epoch milliseconds) are interpolated before.
 */
export function expandGrafanaClickHouseMacros(sql: string, range: GrafanaTimeRange): string {
  const s = (d: Date) => `toDateTime(${Math.floor(d.getTime() / 1000)})`;
  const ms = (d: Date) => `fromUnixTimestamp64Milli(${d.getTime()})`;
  return sql
    .replace(/\$__timeFilter_ms\(([^)]*)\)/g, (_w, c: string) => `${c.trim()} >= ${ms(range.from)} AND ${c.trim()} <= ${ms(range.to)}`)
    .replace(/\$__timeFilter\(([^)]*)\)/g, (_w, c: string) => `${c.trim()} >= ${s(range.from)} AND ${c.trim()} <= ${s(range.to)}`)
    .replace(/\$__fromTime_ms\b/g, ms(range.from))
    .replace(/\$__toTime_ms\b/g, ms(range.to))
    .replace(/\$__fromTime\b/g, s(range.from))
    .replace(/\$__toTime\b/g, s(range.to))
    .replace(/\$__from\b/g, String(range.from.getTime()))
    .replace(/\$__to\b/g, String(range.to.getTime()));
}
