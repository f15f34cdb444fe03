import type { Logger } from 'pino';
import { KubeApiError } from '../errors';
import type { KubeClient, WatchEvent, WatchHandle } from '@strata/core';
import { objectKey, type ListResult, type ObjectMeta } from './resources';

/**
 * List-then-watch with a local cache, as client-go's reflector does it: the watch resumes
 * from the last resourceVersion seen after a disconnect or a server-side timeout, and
 * a `410 Gone` (the resourceVersion was compacted away) relists and diffs against the
 * cache so no change is lost. Handlers receive the new object and the cached old one;
 * they must not mutate either.
 */

export interface InformerHandlers<T> {
  onUpsert(obj: T, old: T | undefined): void;
  onDelete(obj: T): void;
}

export interface InformerMetrics {
  watchRestart(reason: 'timeout' | 'disconnect' | 'gone' | 'error'): void;
}

export interface InformerOptions {
  /** Server-side watch timeout; the watch is reopened after it. */
  watchTimeoutSeconds: number;
  maxBackoffMs: number;
}

export class Informer<T extends { metadata: ObjectMeta }> {
  private readonly cache = new Map<string, T>();
  private resourceVersion = '';
  private handle: WatchHandle | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private synced!: () => void;
  /** Resolves after the first list has been delivered to the handlers. */
  readonly hasSynced = new Promise<void>((r) => (this.synced = r));

  constructor(
    private readonly client: KubeClient,
    private readonly path: string,
    private readonly handlers: InformerHandlers<T>,
    private readonly log: Logger,
    private readonly metrics: InformerMetrics = { watchRestart: () => undefined },
    private readonly opts: InformerOptions = { watchTimeoutSeconds: 300, maxBackoffMs: 30_000 },
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.handle?.abort();
    await this.loop;
  }

  /**
   * Test hook: resume the watch from `rv` as if it had been the last one seen, e.g. a
   * long-compacted one to make the server answer 410 Gone.
   */
  resumeFrom(rv: string): void {
    this.resourceVersion = rv;
    this.handle?.abort();
  }

  private async run(): Promise<void> {
    let backoff = 250;
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.list();
          needList = false;
          this.synced();
        }
        const gone = await this.watchOnce();
        backoff = 250;
        if (gone) {
          this.metrics.watchRestart('gone');
          this.log.info({ resourceVersion: this.resourceVersion }, 'watch resourceVersion expired (410 Gone): relisting');
          needList = true;
        } else if (!this.stopped) this.metrics.watchRestart('timeout');
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof KubeApiError && err.status === 410) {
          needList = true;
          this.metrics.watchRestart('gone');
          continue;
        }
        this.metrics.watchRestart(err instanceof KubeApiError ? 'error' : 'disconnect');
        this.log.warn({ err: (err as Error).message, retryInMs: backoff }, 'watch failed; retrying');
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(this.opts.maxBackoffMs, backoff * 2);
      }
    }
  }

  private async list(): Promise<void> {
    const list = await this.client.get<ListResult<T>>(this.path);
    const seen = new Set<string>();
    for (const item of list.items) {
      const key = objectKey(item.metadata);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, item);
      if (!old || old.metadata.resourceVersion !== item.metadata.resourceVersion) this.handlers.onUpsert(item, old);
    }
    // Deleted while no watch was open.
    for (const [key, obj] of this.cache) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.handlers.onDelete(obj);
      }
    }
    this.resourceVersion = list.metadata.resourceVersion;
  }

  /** True when the server said the resourceVersion is gone. */
  private async watchOnce(): Promise<boolean> {
    let gone = false;
    const qs = new URLSearchParams({
      watch: '1',
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(this.opts.watchTimeoutSeconds),
    });
    this.handle = await this.client.watch<T | { code?: number; reason?: string }>(`${this.path}?${qs}`, (e) => this.onEvent(e, () => (gone = true)));
    if (this.stopped) this.handle.abort();
    await this.handle.done.catch((err) => {
      if (!this.stopped && !gone) throw err;
    });
    return gone;
  }

  private onEvent(e: WatchEvent<T | { code?: number; reason?: string }>, markGone: () => void): void {
    if (e.type === 'ERROR') {
      const status = e.object as { code?: number; message?: string };
      if (status.code === 410) {
        markGone();
        this.handle?.abort();
        return;
      }
      this.log.warn({ status: status.message }, 'watch error event');
      this.handle?.abort();
      return;
    }
    const obj = e.object as T;
    if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
    if (e.type === 'BOOKMARK') return;
    const key = objectKey(obj.metadata);
    if (e.type === 'DELETED') {
      this.cache.delete(key);
      this.handlers.onDelete(obj);
      return;
    }
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    this.handlers.onUpsert(obj, old);
  }
}
