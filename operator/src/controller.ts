import type { Logger } from 'pino';
import { Informer } from './kube/informer';
import type { KubeClient } from '@strata/core';
import { objectKey, tieredTablesPath, type TieredTableObject } from './kube/resources';
import { reconcile, type ReconcileHooks } from './reconcile/reconcile';
import type { ReconcileDeps } from './reconcile/state';
import { WorkQueue, type WorkQueueOptions } from './workqueue';

/**
 * Informer → work queue → workers → reconcile. Event handlers only enqueue keys
 * (sample-controller); workers read the object from the informer's cache and never
 * mutate it. Status-only changes (our own writes) are not enqueued; a periodic resync
 * refreshes watermark, lag and last run.
 */
export interface ControllerOptions {
  watchNamespace?: string;
  workers: number;
  resyncMs: number;
  backoff: WorkQueueOptions;
  watchTimeoutSeconds: number;
}

export class Controller {
  readonly queue: WorkQueue;
  readonly informer: Informer<TieredTableObject>;
  private resyncTimer: NodeJS.Timeout | undefined;
  private workers: Promise<void>[] = [];
  private stopped = false;

  constructor(
    kube: KubeClient,
    private readonly deps: ReconcileDeps,
    private readonly opts: ControllerOptions,
    private readonly log: Logger,
    private readonly hooks: ReconcileHooks = {},
  ) {
    this.queue = new WorkQueue(opts.backoff);
    this.informer = new Informer<TieredTableObject>(
      kube,
      tieredTablesPath(opts.watchNamespace),
      {
        onUpsert: (obj, old) => {
          if (!old || needsReconcile(old, obj)) this.enqueue(objectKey(obj.metadata));
        },
        onDelete: (obj) => {
          if (deps.tiering.mode === 'in-process') deps.tiering.scheduler.remove(objectKey(obj.metadata));
        },
      },
      log,
      { watchRestart: (reason) => deps.metrics.watchRestarts.inc({ reason }) },
      { watchTimeoutSeconds: opts.watchTimeoutSeconds, maxBackoffMs: 30_000 },
    );
  }

  enqueue(key: string): void {
    this.queue.add(key);
    this.deps.metrics.queueDepth.set(this.queue.length);
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.hasSynced;
    for (let i = 0; i < this.opts.workers; i++) this.workers.push(this.work());
    this.resyncTimer = setInterval(() => {
      for (const key of this.informer.keys()) this.enqueue(key);
    }, this.opts.resyncMs);
    this.resyncTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    this.queue.shutdown();
    await this.informer.stop();
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.deps.metrics.queueDepth.set(this.queue.length);
      try {
        await this.process(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async process(key: string): Promise<void> {
    const obj = this.informer.get(key);
    if (!obj || this.stopped) return;
    const end = this.deps.metrics.reconcileSeconds.startTimer();
    let result: string;
    try {
      // A deep copy: steps may build on it, the cache must stay as the server sent it.
      const outcome = await reconcile(this.deps, structuredClone(obj), key, this.hooks);
      result = outcome.result;
      if (outcome.result === 'requeue') {
        const delay = this.queue.addRateLimited(key);
        this.log.info({ key, err: outcome.error.message, retryInMs: delay }, 'reconcile incomplete; retrying');
      } else this.queue.forget(key);
    } catch (err) {
      result = 'error';
      const delay = this.queue.addRateLimited(key);
      this.log.warn({ key, err: (err as Error).message, retryInMs: delay }, 'reconcile failed; retrying');
    }
    this.deps.metrics.reconciles.inc({ result });
    end({ result });
  }
}

/** generation moves only on spec changes; metadata changes that matter are checked apart. */
function needsReconcile(old: TieredTableObject, obj: TieredTableObject): boolean {
  return (
    old.metadata.generation !== obj.metadata.generation ||
    old.metadata.deletionTimestamp !== obj.metadata.deletionTimestamp ||
    JSON.stringify(old.metadata.finalizers ?? []) !== JSON.stringify(obj.metadata.finalizers ?? [])
  );
}
