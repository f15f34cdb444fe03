// The chart's Grafana dashboard (charts/strata/dashboards/strata.json, shipped as a
// ConfigMap for Grafana's dashboard sidecar): every PromQL query parses with Prometheus'
// own grammar (@prometheus-io/lezer-promql) and names only metrics and labels that the
// code registers — read from the registries the operator, the gateway and a running
// tiered proxy really build, not from a list kept by hand.
import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';
import { parseAllDocuments } from 'yaml';
import type { Registry } from 'prom-client';
import { createColdStore, type ColdStore } from '@strata/core';
import { createOperatorMetrics } from '../../operator/src/metrics';
import { createGatewayMetrics } from '../../gateway/src/ops/metrics';
import { resolveProxyConfig } from '../../proxy/src/config';
import { startTieredProxy, type RunningTieredProxy } from '../../proxy/src/tiered-proxy';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { helm } from '../support/operator-kubectl';
import { repoPath } from '../support/paths';

const DASHBOARD = repoPath('charts', 'strata', 'dashboards', 'strata.json');
/** Labels Prometheus adds to every scraped series (ServiceMonitor target labels). */
const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod', 'service', 'container', 'endpoint'];
/** What Grafana substitutes before sending a query, as it would at its "All" value. */
const GRAFANA_VARIABLES: Record<string, string> = { $__rate_interval: '1m', $__interval: '30s', $table_namespace: '.*', $namespace: '.*' };

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: { query: string } | string }> };
}

type Known = Map<string, Set<string>>;
type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

function addRegistry(known: Known, registry: Registry): void {
  for (const m of registry.getMetricsAsArray() as unknown as Array<{ name: string; labelNames: string[]; constructor: { name: string } }>) {
    const labels = new Set([...m.labelNames, ...TARGET_LABELS]);
    known.set(m.name, labels);
    if (m.constructor.name === 'Histogram') {
      known.set(`${m.name}_bucket`, new Set([...labels, 'le']));
      for (const suffix of ['_sum', '_count']) known.set(m.name + suffix, labels);
    }
  }
}

function interpolate(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$table_namespace|\$namespace/g, (v) => GRAFANA_VARIABLES[v]);
}

/** Problems of one query: syntax errors, unknown metrics, labels no metric of the query has. */
export function checkQuery(expr: string, known: Known): string[] {
  const text = interpolate(expr);
  const problems: string[] = [];
  const tree = parser.parse(text);
  const src = (n: SyntaxNode) => text.slice(n.from, n.to);
  const grouping: string[] = [];
  const metricsUsed: string[] = [];
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) problems.push(`syntax error at ${ref.from}: ${JSON.stringify(text.slice(ref.from, ref.from + 20))}`);
      if (ref.name === 'VectorSelector') {
        const node = ref.node;
        const id = node.getChild('Identifier');
        if (!id) return;
        const metric = src(id);
        metricsUsed.push(metric);
        const labels = known.get(metric);
        if (!labels) {
          problems.push(`unknown metric ${metric}`);
          return;
        }
        for (const matcher of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
          const name = src(matcher.getChild('LabelName')!);
          if (!labels.has(name)) problems.push(`${metric} has no label ${name}`);
        }
      }
      if (ref.name === 'GroupingLabels') for (const l of ref.node.getChildren('LabelName')) grouping.push(src(l));
    },
  });
  for (const label of grouping) {
    if (!metricsUsed.some((m) => known.get(m)?.has(label))) problems.push(`no metric of the query has the label ${label} it groups by`);
  }
  return problems;
}

describe('Grafana dashboard', () => {
  let db: TestDatabase;
  let cold: ColdStore;
  let proxy: RunningTieredProxy;
  const known: Known = new Map();
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

  beforeAll(async () => {
    db = await createTestDatabase('dashboard');
    // Never reached: no statement runs. The proxy registers its metrics at start.
    cold = createColdStore({ kind: 'http', url: 'http://127.0.0.1:9', database: 'strata' });
    const pino = (await import('pino')).default;
    proxy = await startTieredProxy(resolveProxyConfig({ listen: '127.0.0.1:0', backendUrl: db.url, users: { u: 'p' } }), {
      pgUrl: db.url,
      cold,
      coldDatabase: 'strata',
      logger: pino({ level: 'silent' }),
    });
    addRegistry(known, proxy.metrics.registry);
    addRegistry(known, createOperatorMetrics().registry);
    addRegistry(known, createGatewayMetrics().registry);
  });

  afterAll(async () => {
    await proxy?.close();
    await cold?.close();
    await db?.drop();
  });

  test('the chart ships it as a ConfigMap the dashboard sidecar picks up, byte for byte', async () => {
    const rendered = await helm(['template', 'strata', repoPath('charts', 'strata'), '--namespace', 'strata', '--set', 'grafanaDashboard.enabled=true', '--set', 'grafanaDashboard.folder=Strata']);
    const maps = parseAllDocuments(rendered)
      .map((d) => d.toJS() as { kind: string; metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> }; data?: Record<string, string> })
      .filter((d) => d?.kind === 'ConfigMap');
    expect(maps).toHaveLength(1);
    expect(maps[0].metadata.labels.grafana_dashboard).toBe('1');
    expect(maps[0].metadata.annotations).toEqual({ grafana_folder: 'Strata' });
    expect(maps[0].data!['strata.json']).toBe(readFileSync(DASHBOARD, 'utf8').trimEnd());
    // Off by default: nothing rendered.
    expect(await helm(['template', 'strata', repoPath('charts', 'strata'), '--namespace', 'strata'])).not.toContain('grafana_dashboard');
  });

  test('every query parses and names only registered metrics and their labels', () => {
    expect(queries.length).toBeGreaterThan(10);
    const problems = queries.flatMap((q) => checkQuery(q.expr, known).map((p) => `${q.panel}: ${p}`));
    expect(problems).toEqual([]);
    const variables = dashboard.templating.list.filter((x) => x.type === 'query');
    expect(variables.map((v) => v.name)).toEqual(['namespace', 'table_namespace']);
    for (const v of variables) {
      const m = /^label_values\((\w+), (\w+)\)$/.exec((v.query as { query: string }).query);
      expect(m).not.toBeNull();
      expect([v.name, known.get(m![1])?.has(m![2])]).toEqual([v.name, true]);
    }
  });

  test('it shows what the issue asks: tiering lag and watermark per table, proxy routes and refusals, gateway rows and rejections', () => {
    const all = queries.map((q) => q.expr).join('\n');
    for (const metric of [
      'strata_tiering_lag_seconds',
      'strata_tiering_watermark_seconds',
      'strata_tiering_last_success_timestamp_seconds',
      'strata_proxy_tiered_statements_total',
      'strata_proxy_refusals_total',
      'strata_gateway_rows_accepted_total',
      'strata_gateway_requests_total',
      'strata_gateway_backpressure_total',
    ]) expect([metric, all.includes(metric)]).toEqual([metric, true]);
  });

  test('the checker fails a wrong query (a misspelt metric, a label it lacks, broken syntax)', () => {
    expect(checkQuery('max by (table) (strata_tiering_lag{namespace="a"})', known)).toEqual(['unknown metric strata_tiering_lag', 'no metric of the query has the label table it groups by']);
    expect(checkQuery('sum(rate(strata_proxy_refusals_total{route="x"}[5m]))', known)).toEqual(['strata_proxy_refusals_total has no label route']);
    expect(checkQuery('sum(rate(strata_proxy_refusals_total[5m])', known).join()).toContain('syntax error');
  });
});
