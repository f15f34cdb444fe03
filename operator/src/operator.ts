import pino, { type Logger } from 'pino';
import type { OperatorConfig } from './config';
import { Connections } from './connections';
import { Controller } from './controller';
import { kubeEventRecorder } from './events';
import { startHttpServer } from './http-server';
import { loadKubeTransport } from './kube/kubeconfig';
import { KubeClient, type KubeTransport } from '@strata/core';
import { LeaderElector } from './leader-election';
import { createOperatorMetrics } from './metrics';
import type { ReconcileHooks } from './reconcile/reconcile';
import type { ReconcileDeps } from './reconcile/state';
import { TieringScheduler } from './tiering-scheduler';

export interface OperatorHandle {
  /** The port serving /metrics, /healthz and /readyz. */
  port: number;
  isLeader(): boolean;
  /** Resolves when the operator stopped on its own (lost leadership). */
  done: Promise<'lost-leadership'>;
  stop(): Promise<void>;
}

export interface OperatorDeps {
  logger?: Logger;
  /** Kubernetes endpoint and credentials; default: KUBECONFIG or in-cluster. */
  transport?: KubeTransport;
  kubeconfigPath?: string;
  hooks?: ReconcileHooks;
}

/**
 * Starts the operator: probes and metrics at once, then leader election; the
 * controller (informer, queue, workers, in-process tiering) runs only while leading.
 * Losing the lease ends the operator (`done`): the entry point exits so the pod
 * restarts as a fresh candidate, never acting on a lease it no longer holds.
 */
export async function startOperator(config: OperatorConfig, deps: OperatorDeps = {}): Promise<OperatorHandle> {
  const log = deps.logger ?? pino({ level: config.logLevel, base: { component: 'strata-operator' } });
  const transport = deps.transport ?? (await loadKubeTransport(deps.kubeconfigPath));
  const kube = new KubeClient(transport);
  const metrics = createOperatorMetrics();
  const connections = new Connections({ debug: (obj, msg) => log.debug(obj, msg) });
  let controller: Controller | undefined;
  let started = false;

  const scheduler = new TieringScheduler(connections, metrics, log, (key) => controller?.enqueue(key));
  const reconcileDeps: ReconcileDeps = {
    kube,
    log,
    events: kubeEventRecorder(kube, config.identity, log),
    connections,
    defaultConnection: config.defaultConnection,
    operatorNamespace: config.namespace,
    tiering:
      config.tiering.mode === 'in-process'
        ? { mode: 'in-process', scheduler }
        : {
            mode: 'cronjob',
            cronJob: { image: config.tiering.image, serviceAccountName: config.tiering.serviceAccountName, postgresCASecret: config.tiering.postgresCASecret },
            defaultSecretName: config.tiering.defaultSecretName,
          },
    metrics,
    now: () => new Date(),
  };

  const pause = config.faultPauseAfterStep;
  const hooks: ReconcileHooks = deps.hooks ?? {
    afterStep: pause
      ? async (key, step) => {
          if (step !== pause.step) return;
          log.warn({ key, step, ms: pause.ms }, 'fault injection: pausing mid-reconcile');
          await new Promise((r) => setTimeout(r, pause.ms));
        }
      : undefined,
  };

  const http = await startHttpServer(metrics.registry, { ready: () => started }, config.http.host, config.http.port);

  let resolveDone!: (v: 'lost-leadership') => void;
  const done = new Promise<'lost-leadership'>((r) => (resolveDone = r));

  const lead = async () => {
    metrics.isLeader.set(1);
    controller = new Controller(
      kube,
      reconcileDeps,
      { watchNamespace: config.watchNamespace, workers: config.workers, resyncMs: config.resyncMs, backoff: config.backoff, watchTimeoutSeconds: config.watchTimeoutSeconds },
      log,
      hooks,
    );
    await controller.start();
    log.info({ watchNamespace: config.watchNamespace ?? '(all)', tiering: config.tiering.mode }, 'controller started');
  };

  let elector: LeaderElector | undefined;
  metrics.isLeader.set(0);
  if (config.leaderElection.enabled) {
    elector = new LeaderElector(
      kube,
      { namespace: config.namespace, name: config.leaderElection.leaseName, identity: config.identity, ...config.leaderElection },
      {
        onStartedLeading: () => void lead().catch((err) => log.error({ err: (err as Error).message }, 'controller failed to start')),
        onStoppedLeading: () => {
          metrics.isLeader.set(0);
          void Promise.all([controller?.stop(), scheduler.stop()]).finally(() => resolveDone('lost-leadership'));
        },
      },
      log,
    );
    elector.start();
  } else void lead();
  started = true;

  return {
    port: http.port,
    isLeader: () => (elector ? elector.isLeader : true),
    done,
    async stop() {
      await controller?.stop();
      await scheduler.stop();
      await elector?.stop();
      await connections.close();
      await new Promise<void>((r) => http.server.close(() => r()));
      http.server.closeAllConnections();
    },
  };
}
