// charts/strata's gateway.sqlApi, rendered by `helm template`: /v1/sql is off unless a
// Secret is named, and then its tokens and PostgreSQL URL reach the gateway from that
// Secret only (never from the ingest tokens' Secret or the shared connection).
import { parseAllDocuments } from 'yaml';
import { helm } from '../support/operator-kubectl';
import { repoPath } from '../support/paths';

type Env = { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } };

async function gatewayEnv(...set: string[]): Promise<Env[]> {
  const docs = parseAllDocuments(await helm(['template', 'strata', repoPath('charts', 'strata'), '--namespace', 'strata', ...set.flatMap((s) => ['--set', s])]));
  const deployment = docs
    .map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: { template: { spec: { containers: Array<{ name: string; env: Env[] }> } } } })
    .find((o) => o?.kind === 'Deployment' && o.metadata.name.endsWith('gateway'))!;
  return deployment.spec.template.spec.containers.find((c) => c.name === 'gateway')!.env;
}

test('gateway.sqlApi: off by default; with a Secret, the SQL tokens and role come from it', async () => {
  const off = await gatewayEnv();
  expect(off.filter((e) => e.name.startsWith('STRATA_GATEWAY_SQL_'))).toEqual([]);
  const on = await gatewayEnv('gateway.sqlApi.secret=strata-gateway-sql', 'gateway.sqlApi.statementTimeoutMs=5000');
  expect(on.filter((e) => e.name.startsWith('STRATA_GATEWAY_SQL_'))).toEqual([
    { name: 'STRATA_GATEWAY_SQL_TOKENS', valueFrom: { secretKeyRef: { name: 'strata-gateway-sql', key: 'tokens' } } },
    { name: 'STRATA_GATEWAY_SQL_PG_URL', valueFrom: { secretKeyRef: { name: 'strata-gateway-sql', key: 'pgUrl' } } },
    { name: 'STRATA_GATEWAY_SQL_STATEMENT_TIMEOUT_MS', value: '5000' },
  ]);
});
