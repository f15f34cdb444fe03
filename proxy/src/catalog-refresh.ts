import type { Logger } from 'pino';
import { Client } from 'pg';
import { CATALOG_CHANNEL } from '@strata/core';

/**
 * When the proxy re-reads its catalog (which tables are tiered, which views read them).
 *
 * The router decides from the catalog alone, before a statement reaches PostgreSQL: a view
 * over a tiered table that the catalog does not list is relayed as an ordinary relation,
 * and its read sees the hot tier only. So the catalog is re-read
 *   1. at once when PostgreSQL notifies CATALOG_CHANNEL (core catalog-notify.ts: the
 *      registry's trigger, the event triggers on view DDL, wherever the DDL ran), and every
 *      client message the proxy receives meanwhile waits for that re-read (`pending`);
 *   2. after a client's own view DDL through the proxy (client-session.ts);
 *   3. every `periodMs`, and after the notification connection is re-established (what
 *      was notified while it was down is lost), for databases where the event triggers
 *      could not be created.
 * Re-reads never overlap: one asked for while another runs runs after it, since the
 * running one may have read before the change committed.
 *
 * A re-read never waits for another session: sessions wait for it, and the session
 * holding a lock it waited for could be one of them (a client's block that replaced a
 * view, then sends ROLLBACK). Views locked by another session are skipped
 * (catalog-loader.ts) and a lock it meets anyway fails it after the connection's
 * lock_timeout; either way it is read again soon (`rereadMs`, doubling up to the period).
 */
const FIRST_REREAD_MS = 250;

export class CatalogRefresher {
  private running: Promise<void> | null = null;
  private again = false;
  /** The running re-read was asked for by a change (not the period): sessions wait for it. */
  private blocking = false;
  private listener: Client | null = null;
  private closed = false;
  private retryMs = 500;
  private timer: NodeJS.Timeout | null = null;
  /** An incomplete or failed re-read's retry, and the wait before the next one. */
  private retry: NodeJS.Timeout | null = null;
  private rereadMs = FIRST_REREAD_MS;

  /** `reload` resolves false when it left something unread (a locked view). */
  constructor(
    private readonly reload: () => Promise<boolean>,
    private readonly opts: { pgUrl: string; periodMs: number; logger: Logger },
  ) {}

  /** Starts listening and the periodic re-read. */
  async start(): Promise<void> {
    const periodic = setInterval(() => void this.refresh(false).catch(() => undefined), this.opts.periodMs);
    periodic.unref();
    this.timer = periodic;
    await this.listen();
  }

  /**
   * A re-read in flight, or null: client sessions wait for it before their next message,
   * so a statement sent after a notified change is routed with the change.
   */
  pending(): Promise<void> | null {
    return this.blocking ? this.running : null;
  }

  /**
   * Re-reads now (after the one running, if any); resolves when the catalog is current.
   * `change`: asked for by a change (a notification, a client's DDL), which sessions wait
   * for; the periodic re-read only finds what was not notified, and stalls nobody.
   */
  refresh(change = true): Promise<void> {
    if (change) this.blocking = true;
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      try {
        let complete = false;
        do {
          this.again = false;
          try {
            complete = await this.reload();
          } catch (err) {
            this.opts.logger.warn({ err: (err as Error).message }, 'catalog refresh failed; routing on the previous one');
            this.rereadSoon();
            throw err;
          }
        } while (this.again && !this.closed);
        if (complete) this.rereadMs = FIRST_REREAD_MS;
        else this.rereadSoon();
      } finally {
        this.running = null;
        this.blocking = false;
      }
    })();
    this.running = run;
    return run;
  }

  /** Reads again after `rereadMs` (once, however often asked), without stalling sessions. */
  private rereadSoon(): void {
    if (this.retry || this.closed) return;
    const wait = this.rereadMs;
    this.rereadMs = Math.min(this.rereadMs * 2, this.opts.periodMs);
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.refresh(false).catch(() => undefined);
    }, wait);
    this.retry.unref();
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new Client({ connectionString: this.opts.pgUrl, application_name: 'strata-proxy-catalog' });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.listener === client) this.listener = null;
      if (this.closed) return;
      this.opts.logger.warn({ err: err?.message }, 'catalog notification connection lost; reconnecting');
      client.end().catch(() => undefined);
      this.reconnectLater();
    };
    client.on('notification', () => void this.refresh().catch(() => undefined));
    client.on('error', onLost);
    client.on('end', () => onLost());
    try {
      await client.connect();
      await client.query(`LISTEN ${CATALOG_CHANNEL}`);
    } catch (err) {
      onLost(err as Error);
      return;
    }
    if (lost) return;
    this.listener = client;
    this.retryMs = 500;
  }

  private reconnectLater(): void {
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 30_000);
    setTimeout(() => {
      void this.listen().then(() => {
        // Changes notified while disconnected were not delivered: read them now.
        if (this.listener) return this.refresh().catch(() => undefined);
      });
    }, wait).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retry) clearTimeout(this.retry);
    const l = this.listener;
    this.listener = null;
    await l?.end().catch(() => undefined);
    await this.running?.catch(() => undefined);
  }
}
