import { Client } from 'pg';
import { readFileSync } from 'node:fs';
import { runTiering, TIER_STEPS } from '@strata/core';
import { expandGrafanaClickHouseMacros } from '../support/grafana-macros';
import { repoPath } from '../support/paths';
import { tiererDeps, type TieredFixture } from '../support/tiered-fixture';
import { observabilityLines } from './corpus/observability-dataset';
import { startObservabilityBed, type ObservabilityBed } from './observability-bed';

/**
 * Safe direct ClickHouse reads (issue 17, item 4): `<table>_visible` shows exactly the
 * committed cold rows — not those of a run that died after copying — and the seed's
 * Grafana ClickHouse query over it answers what the proxy answers for the same cold
 * range. Dead generations' rows leave the raw table in the background.
 *
 * `$__from`/`$__to` are Grafana's global variables, epoch milliseconds by default; ClickHouse
 * compares a DateTime64 with an integer as seconds, so the seed's query as written matches
 * nothing in any ClickHouse (measured below). The example dashboard
 * (examples/grafana/strata-clickhouse-dashboard.json) uses the plugin's `$__fromTime` /
 * `$__toTime` (`toDateTime(<seconds>)`); `${__from:date:seconds}` works too.
 */
const TABLE = 'observability_events';
const PASSWORD = 'visible-view-secret';
const W1 = '2026-01-04T13:37:00Z';
const W2 = '2026-01-05T00:00:00Z';
/** The seed's query (SEED.md 4.2) over the observability table's view and time column. */
const SEED_CH_QUERY = 'SELECT node, count() AS total FROM observability_events_visible WHERE event_time >= $__from AND event_time <= $__to GROUP BY node ORDER BY total DESC LIMIT 5';

/** The example ClickHouse dashboard's panel: the seed's query with the plugin's time macros. */
function clickhousePanelSql(): string {
  const dashboard = JSON.parse(readFileSync(repoPath('examples', 'grafana', 'strata-clickhouse-dashboard.json'), 'utf8')) as { panels: Array<{ targets: Array<{ rawSql: string }> }> };
  return dashboard.panels[0].targets[0].rawSql;
}

const rowsBelow = (w: string) => observabilityLines().filter((l) => l.slice(0, l.indexOf('\t')) < new Date(w).toISOString()).length;

describe('the committed-generation view for direct ClickHouse readers', () => {
  let bed: ObservabilityBed;
  let fx: TieredFixture;
  const view = () => `${fx.database}.${TABLE}_visible`;
  const count = async (from: string) => Number((await fx.cold.query<{ n: string }>(`SELECT count() AS n FROM ${from}`))[0].n);

  beforeAll(async () => {
    bed = await startObservabilityBed('grafana', PASSWORD);
    fx = bed.fx;
  }, 180_000);

  afterAll(async () => {
    await bed?.close();
  });

  it('exists from apply on (empty), and shows a committed run once it commits', async () => {
    expect(await count(view())).toBe(0);
    await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: TABLE, until: new Date(W1) });
    expect(await count(view())).toBe(rowsBelow(W1));
    const columns = await fx.cold.query<{ name: string }>(`SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position`, { db: fx.database, t: `${TABLE}_visible` });
    expect(columns.map((c) => c.name)).toEqual(['event_time', 'node', 'source_type', 'message', 'raw']);
  });

  it("hides a run that died after copying, then converges the raw table after the next run", async () => {
    const died = await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), {
      table: TABLE,
      until: new Date(W2),
      onStep: (p) => {
        if (p.step === TIER_STEPS.verified) throw new Error('killed after copying');
      },
    }).catch((e: Error) => e);
    expect(died).toBeInstanceOf(Error);
    const raw = await count(`${fx.database}.${TABLE}`);
    expect(raw).toBe(rowsBelow(W2)); // W1's rows and the dead run's copy of [W1, W2)
    expect(await count(view())).toBe(rowsBelow(W1));

    await runTiering(tiererDeps(fx.pgUrl, fx.cold, fx.database), { table: TABLE, until: new Date(W2) });
    expect(await count(view())).toBe(rowsBelow(W2));
    const deadline = Date.now() + 30_000;
    while ((await count(`${fx.database}.${TABLE}`)) !== rowsBelow(W2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await count(`${fx.database}.${TABLE}`)).toBe(rowsBelow(W2));
  });

  it("answers the seed's Grafana ClickHouse query as the proxy answers for the same cold range", async () => {
    const range = { from: new Date('2026-01-03T06:00:00Z'), to: new Date('2026-01-04T18:00:00Z') };
    const [from, to] = [range.from.getTime() / 1000, range.to.getTime() / 1000];
    const c = new Client({ connectionString: bed.url });
    await c.connect();
    try {
      const viaProxy = await c.query<{ node: string | null; total: string }>(
        `SELECT node, count(*)::text AS total FROM ${TABLE} WHERE event_time >= to_timestamp(${from}) AND event_time <= to_timestamp(${to}) GROUP BY node ORDER BY count(*) DESC, node LIMIT 5`,
      );
      const key = (r: { node: string | null; total: string }) => `${r.node ?? 'NULL'}=${r.total}`;
      const expected = viaProxy.rows.map(key).sort();
      expect(expected.length).toBe(5); // four nodes and the events without one
      const direct = (sql: string) => fx.cold.query<{ node: string | null; total: string }>(sql).then((rows) => rows.map(key).sort());
      // The example dashboard's panel, as the ClickHouse datasource expands $__fromTime / $__toTime.
      const panel = expandGrafanaClickHouseMacros(clickhousePanelSql(), range);
      expect(panel).toContain(`event_time >= toDateTime(${from}) AND event_time <= toDateTime(${to})`);
      expect(await direct(panel)).toEqual(expected);
      // ${__from:date:seconds} / ${__to:date:seconds} give the same.
      expect(await direct(SEED_CH_QUERY.replace('$__from', String(from)).replace('$__to', String(to)))).toEqual(expected);
      // The seed's $__from / $__to as Grafana interpolates them (milliseconds): read as seconds, nothing matches.
      expect(await direct(expandGrafanaClickHouseMacros(SEED_CH_QUERY, range))).toEqual([]);
    } finally {
      await c.end();
    }
  });
});
