import { readFileSync } from 'node:fs';
import * as engineApi from '../../proxy/src/engine';
import * as routerApi from '../../proxy/src/router';
import { resolveProxyConfig, startProxy, type RunningProxy } from '@strata/proxy';
import { expandGrafanaMacros, interpolateGrafanaVariables } from '../support/grafana-macros';
import { repoPath } from '../support/paths';
import { startCorpusBed, type CorpusBed } from '../routing/corpus/corpus-bed';
import type { CorpusEntry } from '../routing/corpus/corpus-file';
import { diffCorpus, scoreLine } from '../routing/corpus/diff-corpus';
import { connectClientRunner } from '../routing/corpus/runners';

/**
 * The example Grafana dashboard's panels, with the macros expanded as Grafana expands
 * them for a range spanning the watermark, sent through the proxy with a real driver:
 * each returns what PostgreSQL alone returns on the same rows.
 */
interface Panel {
  title: string;
  targets: Array<{ rawSql: string }>;
}
interface Dashboard {
  panels: Panel[];
  templating?: { list: Array<{ name: string; current: { value: string } }> };
}

const api = { ...engineApi, ...routerApi };
const RANGE = { from: new Date('2026-01-03T00:00:00Z'), to: new Date('2026-01-06T00:00:00Z') };
const PASSWORD = 'dashboard-secret';

describe('the example Grafana dashboard through the proxy', () => {
  let bed: CorpusBed;
  let proxy: RunningProxy;

  beforeAll(async () => {
    bed = await startCorpusBed(api);
    await bed.tierTo('2026-01-04T13:37:00Z');
    const config = resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: bed.tiered.pgUrl, users: { grafana: PASSWORD } });
    proxy = await startProxy(config, { router: bed.router, engine: bed.engine });
  }, 180_000);
  afterAll(async () => {
    await proxy?.close();
    await bed?.close();
  });

  it.each([false, true])('every panel matches PostgreSQL (TimescaleDB macros: %s)', async (timescaledb) => {
    const dashboard = JSON.parse(readFileSync(repoPath('examples', 'grafana', 'strata-dashboard.json'), 'utf8')) as Dashboard;
    // Variables at the dashboard's saved values, then macros: Grafana's order.
    const variables = Object.fromEntries((dashboard.templating?.list ?? []).map((v) => [v.name, v.current.value]));
    const entries: CorpusEntry[] = dashboard.panels.map((p) => ({
      name: p.title,
      sql: expandGrafanaMacros(interpolateGrafanaVariables(p.targets[0].rawSql, variables), RANGE, { timescaledb }),
    }));
    expect(entries.length).toBeGreaterThanOrEqual(7);
    expect(entries.find((e) => e.name.includes("seed's query"))?.sql).toContain("WHERE node = 'node-1'\n  AND raw->>'source' = 'journald'\n  AND event_time BETWEEN '2026-01-03T00:00:00Z' AND '2026-01-06T00:00:00Z'");
    const db = new URL(bed.tiered.pgUrl).pathname;
    const reference = await connectClientRunner(bed.reference.url);
    const strata = await connectClientRunner(`postgres://grafana:${PASSWORD}@${proxy.host}:${proxy.port}${db}`);
    try {
      const before = bed.engine.stats.split;
      const score = await diffCorpus(entries, reference, strata, api);
      expect(score.results.filter((r) => r.status !== 'passed').map((r) => r.report ?? `${r.name}: ${r.reason}`)).toEqual([]);
      expect(scoreLine(score)).toBe(`${entries.length} passed, 0 failed, 0 unsupported`);
      expect(bed.engine.stats.split - before).toBe(entries.length); // every panel spans both tiers
    } finally {
      await reference.close();
      await strata.close();
    }
  });
});
