import { readFileSync } from 'node:fs';
import pino from 'pino';
import { resolveProxyConfig } from '../../proxy/src/config';
import { createTierEngine, loadCatalogSnapshot } from '../../proxy/src/engine';
import { createRouter, loadSqlParser, parseStatements } from '../../proxy/src/router';
import { startTieredProxy, type RunningTieredProxy } from '../../proxy/src/tiered-proxy';
import { expandGrafanaMacros, interpolateGrafanaVariables } from '../support/grafana-macros';
import { repoPath } from '../support/paths';
import { CORPUS_WATERMARKS, startCorpusBed, type CorpusBed } from './corpus/corpus-bed';
import { readCorpus } from './corpus/corpus-file';
import { diffCorpus, scoreLine } from './corpus/diff-corpus';
import { connectClientRunner } from './corpus/runners';

/**
 * The seed's own Grafana PostgreSQL query over the seed's observability_events
 * (issue 17, item 1): the corpus file's seed-* entries are exactly what the example
 * dashboard's panel sends once Grafana has interpolated its variables and expanded its
 * macros, and every entry answers, through the real proxy (simple protocol, as Grafana
 * sends panel queries), what PostgreSQL alone answers on the same rows, at both corpus watermarks.
 */
const CORPUS = repoPath('test', 'routing', 'corpus', 'files', 'observability.sql');
const api = { loadSqlParser, parseStatements, createRouter, createTierEngine, loadCatalogSnapshot };
const PASSWORD = 'observability-secret';

/** The variables and range of each seed-* entry, as a dashboard user would pick them. */
const SEED_PANELS: Record<string, { node: string; source_type: string; from: string; to: string }> = {
  'seed-grafana-pg-journald-span': { node: 'node-1', source_type: 'journald', from: '2026-01-03T00:00:00Z', to: '2026-01-06T00:00:00Z' },
  'seed-grafana-pg-prometheus-span': { node: 'node-2', source_type: 'prometheus_scrape', from: '2026-01-04T12:00:00Z', to: '2026-01-05T02:00:00Z' },
  'seed-grafana-pg-cold-only': { node: 'node-0', source_type: 'journald', from: '2026-01-02T00:00:00Z', to: '2026-01-03T00:00:00Z' },
  'seed-grafana-pg-hot-only': { node: 'node-3', source_type: 'prometheus_scrape', from: '2026-01-06T00:00:00Z', to: '2026-01-07T12:00:00Z' },
  'seed-grafana-pg-fractional-range': { node: 'node-0', source_type: 'journald', from: '2026-01-04T13:30:15.500Z', to: '2026-01-05T00:10:00.250Z' },
  'seed-grafana-pg-quoted-variable': { node: 'node-1', source_type: "o'brien", from: '2026-01-03T00:00:00Z', to: '2026-01-06T00:00:00Z' },
};

function seedPanelSql(): string {
  const dashboard = JSON.parse(readFileSync(repoPath('examples', 'grafana', 'strata-dashboard.json'), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ rawSql: string }> }> };
  const panel = dashboard.panels.find((p) => p.targets[0].rawSql.includes('FROM observability_events'));
  if (!panel) throw new Error('the example dashboard has no observability_events panel');
  return panel.targets[0].rawSql;
}

describe("the seed's Grafana PostgreSQL query over observability_events", () => {
  let bed: CorpusBed;
  let proxy: RunningTieredProxy;

  beforeAll(async () => {
    bed = await startCorpusBed(api);
    proxy = await startTieredProxy(resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: bed.tiered.pgUrl, users: { grafana: PASSWORD } }), {
      pgUrl: bed.tiered.pgUrl,
      cold: bed.tiered.cold,
      coldDatabase: bed.tiered.database,
      logger: pino({ level: process.env.STRATA_TEST_LOG ?? 'silent' }),
    });
  }, 180_000);

  afterAll(async () => {
    await proxy?.close();
    await bed?.close();
  });

  it('holds, for each seed-* entry, the dashboard panel as Grafana expands it', () => {
    const entries = readCorpus(CORPUS).filter((e) => e.name.startsWith('seed-'));
    expect(entries.map((e) => e.name).sort()).toEqual(Object.keys(SEED_PANELS).sort());
    const panel = seedPanelSql();
    for (const e of entries) {
      const v = SEED_PANELS[e.name];
      const sent = expandGrafanaMacros(interpolateGrafanaVariables(panel, { node: v.node, source_type: v.source_type }), { from: new Date(v.from), to: new Date(v.to) });
      expect(e.sql).toBe(sent);
    }
  });

  it.each(CORPUS_WATERMARKS.map((w) => [w]))('matches PostgreSQL at watermark %s, through the proxy', async (w) => {
    await bed.tierTo(w);
    await proxy.refreshCatalog();
    const entries = readCorpus(CORPUS);
    const database = new URL(bed.tiered.pgUrl).pathname;
    const reference = await connectClientRunner(bed.reference.url);
    const strata = await connectClientRunner(`postgres://grafana:${PASSWORD}@${proxy.host}:${proxy.port}${database}`);
    try {
      const before = { ...proxy.engine.stats };
      const score = await diffCorpus(entries, reference, strata, api);
      expect(score.results.filter((r) => r.status !== 'passed').map((r) => r.report ?? `${r.name}: ${r.reason}`)).toEqual([]);
      expect(scoreLine(score)).toBe(`${entries.length} passed, 0 failed, 0 unsupported`);
      // The corpus really spans the tiers: most entries are split on W.
      expect(proxy.engine.stats.split - before.split).toBeGreaterThan(entries.length / 2);
    } finally {
      await reference.close();
      await strata.close();
    }
  }, 240_000);
});
