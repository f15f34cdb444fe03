import { Client } from 'pg';
import { runTiering } from '@strata/core';
import { startProxyProcess, type ProxyProcess } from '../support/proxy-process';
import { loadDataset, metricsSpec, tieredFixture, tiererDeps, type TieredFixture } from '../support/tiered-fixture';

/**
 * `strata proxy` as deployed: the process entry point, configured from the environment
 * with a ClickHouse URL, answers a tiered table from both tiers — and picks up a table
 * registered after it started.
 */
describe('strata proxy (process) over a tiered table', () => {
  let fx: TieredFixture;
  let proxy: ProxyProcess;

  beforeAll(async () => {
    fx = await tieredFixture(metricsSpec());
    await loadDataset(fx.hot, 'metrics_events', { toMinute: 2 * 1440 }, fx.spec);
    await runTiering(
      tiererDeps(fx.pgUrl, fx.cold, fx.database),
      { table: 'metrics_events', until: new Date('2026-01-02T00:00:00Z') },
    );
    proxy = await startProxyProcess({ pgUrl: fx.pgUrl, chUrl: fx.chUrl, coldDatabase: fx.database });
  });
  afterAll(async () => {
    await proxy?.stop();
    await fx?.close();
  });

  test('count(*) and a span query equal the dataset, though half of it is in ClickHouse', async () => {
    const hotOnly = await fx.hot.query<{ n: string }>('SELECT count(*)::text AS n FROM metrics_events');
    expect(Number(hotOnly.rows[0].n)).toBe(1440 * 30); // day 1 moved
    const c = new Client({ connectionString: proxy.url });
    await c.connect();
    try {
      const all = await c.query<{ n: string }>('SELECT count(*) AS n FROM metrics_events');
      expect(all.rows[0].n).toBe(String(2 * 1440 * 30));
      const span = await c.query<{ app: string; n: string }>(
        "SELECT app, count(*) AS n FROM metrics_events WHERE time BETWEEN '2026-01-01T23:00:00Z' AND '2026-01-02T00:59:59Z' GROUP BY app ORDER BY app",
      );
      expect(span.rows).toEqual([
        { app: 'api', n: '1200' },
        { app: 'db', n: '1200' },
        { app: 'web', n: '1200' },
      ]);
      // Raw rows from ClickHouse (no aggregate to push down), and a refusal.
      const raw = await c.query("SELECT app FROM metrics_events WHERE time >= '2026-01-01T00:00:00Z' AND time < '2026-01-01T00:01:00Z' ORDER BY app, host LIMIT 1");
      expect(raw.rows).toEqual([{ app: 'api' }]);
      // A registered table without its tier state (an apply that did not finish): refused, named.
      const state = await fx.hot.query('DELETE FROM strata.tier_state WHERE table_name = $1 RETURNING *', ['metrics_events']);
      try {
        await expect(c.query('SELECT count(*) FROM metrics_events')).rejects.toMatchObject({ code: '0A000', message: expect.stringContaining('has no tier state') });
      } finally {
        const cols = Object.keys(state.rows[0]);
        await fx.hot.query(
          `INSERT INTO strata.tier_state (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
          cols.map((k) => state.rows[0][k]),
        );
      }
    } finally {
      await c.end();
    }
    const scrape = await (await fetch(proxy.metricsUrl)).text();
    expect(scrape).toMatch(/strata_proxy_tiered_statements_total\{route="split"\} 2/);
    expect(scrape).toMatch(/strata_proxy_tiered_statements_total\{route="cold"\} 1/);
    expect(scrape).toMatch(/strata_proxy_refusals_total\{construct="unapplied-table"\} 1/);
    expect(scrape).toMatch(/strata_proxy_cold_reads_total\{mode="partial"\} 2/);
    expect(scrape).toMatch(/strata_proxy_cold_reads_total\{mode="raw"\} 1/);
    expect(scrape).toMatch(/strata_proxy_pushdown_ratio 0\.66/);
  });
});
