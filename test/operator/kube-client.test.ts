// The operator's Kubernetes plumbing against a real kube-apiserver: the informer's
// list+watch (relist on 410 Gone, resume after an API server restart) and the status
// writer's optimistic locking.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Informer } from '../../operator/src/kube/informer';
import { KubeClient } from '@strata/core';
import { tieredTablePath, tieredTablesPath, type TieredTableObject } from '../../operator/src/kube/resources';
import { patchStatus } from '../../operator/src/status-patch';
import { startKubeApiserver, type KubeApiserver } from '../support/kube-apiserver';
import { eventually, kubectl } from '../support/operator-kubectl';
import { repoPath } from '../support/paths';
import { tieredTable } from './manifests';


describe("the operator's Kubernetes client on a real API server", () => {
  let api: KubeApiserver;
  let client: KubeClient;

  beforeAll(async () => {
    api = await startKubeApiserver();
    await kubectl(api.kubeconfig, ['apply', '-f', repoPath('crds', 'tieredtables.strata.dev.yaml')]);
    await kubectl(api.kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/tieredtables.strata.dev']);
    const tls = { ca: readFileSync(join(api.dir, 'ca.crt')), cert: readFileSync(join(api.dir, 'admin.crt')), key: readFileSync(join(api.dir, 'admin.key')) };
    client = new KubeClient({ server: api.server, authorize: async (opts) => void Object.assign(opts, tls) });
  });
  afterAll(async () => {
    await api?.stop();
  });

  test('sees adds, updates and deletes; relists on 410 Gone; resumes after an API server restart', async () => {
    const seen: string[] = [];
    const restarts: string[] = [];
    const informer = new Informer<TieredTableObject>(
      client,
      tieredTablesPath(),
      {
        onUpsert: (o) => seen.push(`upsert ${o.metadata.name} ${o.metadata.generation}`),
        onDelete: (o) => seen.push(`delete ${o.metadata.name}`),
      },
      pino({ level: 'silent' }),
      { watchRestart: (r) => restarts.push(r) },
      { watchTimeoutSeconds: 30, maxBackoffMs: 1000 },
    );
    await kubectl(api.kubeconfig, ['apply', '-f', '-'], tieredTable({ name: 'one', namespace: 'default', table: 'one' }));
    informer.start();
    await informer.hasSynced;
    expect(seen).toEqual(['upsert one 1']);

    await kubectl(api.kubeconfig, ['apply', '-f', '-'], tieredTable({ name: 'two', namespace: 'default', table: 'two' }));
    await eventually('two seen', async () => seen.includes('upsert two 1'));

    // A resourceVersion long gone: the server answers 410 and the informer relists.
    informer.resumeFrom('1');
    await kubectl(api.kubeconfig, ['delete', 'tt', 'one', '-n', 'default']);
    await eventually('relist after 410', async () => restarts.includes('gone') && seen.includes('delete one'));

    await api.restartApiserver();
    await kubectl(api.kubeconfig, ['apply', '-f', '-'], tieredTable({ name: 'three', namespace: 'default', table: 'three' }));
    await eventually('three seen after restart', async () => seen.includes('upsert three 1'), 60_000);
    expect(restarts.some((r) => r === 'disconnect' || r === 'error' || r === 'gone')).toBe(true);
    expect(informer.keys().sort()).toEqual(['default/three', 'default/two']);
    await informer.stop();
  });

  test('patchStatus: a stale object conflicts (409), is re-read and the status rebuilt from the current one; no change, no write', async () => {
    await kubectl(api.kubeconfig, ['apply', '-f', '-'], tieredTable({ name: 'st', namespace: 'default', table: 'st' }));
    const stale = await client.get<TieredTableObject>(tieredTablePath('default', 'st'));
    await kubectl(api.kubeconfig, ['label', 'tt', 'st', 'touched=yes', '-n', 'default']);
    const builtFrom: string[] = [];
    const wrote = await patchStatus(client, stale, (current) => {
      builtFrom.push(current.metadata.labels?.touched ?? 'stale');
      return { observedGeneration: current.metadata.generation, rowsHot: 7 };
    });
    expect(wrote).toBe(true);
    expect(builtFrom).toEqual(['stale', 'yes']);
    const now = await client.get<TieredTableObject>(tieredTablePath('default', 'st'));
    expect(now.status).toEqual({ observedGeneration: 1, rowsHot: 7 });
    const again = await patchStatus(client, now, () => ({ observedGeneration: 1, rowsHot: 7 }));
    expect(again).toBe(false);
    expect((await client.get<TieredTableObject>(tieredTablePath('default', 'st'))).metadata.resourceVersion).toBe(now.metadata.resourceVersion);
  });
});
