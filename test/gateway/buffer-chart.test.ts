import { parseAllDocuments } from 'yaml';
import { helm } from '../support/operator-kubectl';
import { repoPath } from '../support/paths';

/** The chart's gateway.buffer values: direct by default, nats with in-gateway or separate writers. */
interface Container {
  args: string[];
  env: { name: string; value?: string; valueFrom?: unknown }[];
}
interface Doc {
  kind: string;
  metadata: { name: string };
  spec?: { replicas?: number; template?: { spec: { containers: Container[] } } };
}

async function render(...set: string[]): Promise<Doc[]> {
  const text = await helm(['template', 'strata', repoPath('charts', 'strata'), ...set.flatMap((s) => ['--set', s])]);
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Doc)
    .filter(Boolean);
}

const deployment = (docs: Doc[], name: string) => docs.find((d) => d.kind === 'Deployment' && d.metadata.name === name);
const env = (d: Doc | undefined) => Object.fromEntries(d!.spec!.template!.spec.containers[0].env.map((e) => [e.name, e.value ?? e.valueFrom]));

test('direct mode is the default: no buffer settings, no writer Deployment', async () => {
  const docs = await render();
  expect(Object.keys(env(deployment(docs, 'strata-gateway'))).filter((k) => k.startsWith('STRATA_GATEWAY_BUFFER'))).toEqual([]);
  expect(deployment(docs, 'strata-writer')).toBeUndefined();
});

test('nats mode: the gateways buffer, and writers scale apart from them', async () => {
  const docs = await render('gateway.buffer.mode=nats', 'gateway.buffer.natsUrl=nats://nats.nats:4222', 'gateway.buffer.replicas=3', 'gateway.buffer.writers.inGateway=false', 'gateway.buffer.writers.replicas=2');
  expect(env(deployment(docs, 'strata-gateway'))).toMatchObject({
    STRATA_GATEWAY_BUFFER: 'nats://nats.nats:4222',
    STRATA_GATEWAY_BUFFER_STREAM: 'STRATA_INGEST',
    STRATA_GATEWAY_BUFFER_REPLICAS: '3',
    STRATA_GATEWAY_BUFFER_MAX_BYTES: '1073741824',
    STRATA_GATEWAY_BUFFER_WRITERS: '0',
  });
  const writer = deployment(docs, 'strata-writer');
  expect(writer?.spec?.replicas).toBe(2);
  expect(writer!.spec!.template!.spec.containers[0].args).toEqual(['writer']);
  expect(env(writer)).toMatchObject({ STRATA_GATEWAY_BUFFER: 'nats://nats.nats:4222', STRATA_GATEWAY_BUFFER_WRITERS: '1', STRATA_WRITER_METRICS_PORT: '9465' });
  expect(env(writer).STRATA_PG_URL).toBeDefined();
});

test('nats mode without a URL, or an unknown mode, does not render', async () => {
  await expect(render('gateway.buffer.mode=nats')).rejects.toThrow(/gateway.buffer.natsUrl/);
  await expect(render('gateway.buffer.mode=kafka')).rejects.toThrow(/direct or nats/);
});
