import type { Logger } from 'pino';
import { BackendError } from './backend-errors';
import { ServerConnection, type ServerTarget } from './server-connection';
import type { ScramKeys } from '../auth/scram-sha-256';

export interface PoolOptions {
  target: ServerTarget;
  size: number;
  acquireTimeoutMs: number;
  idleTimeoutMs: number;
  /** A server idle longer than this is checked with an empty query before it is lent. */
  healthCheckAfterMs: number;
  logger: Logger;
  connect?: (target: ServerTarget) => Promise<ServerConnection>;
}

interface Waiter {
  resolve: (server: ServerConnection) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * PostgreSQL connections for one database. `tryAcquire` is synchronous so the relay's
 * common case (an idle server is there) costs no promise; `acquire` waits, connects, or
 * fails after acquireTimeoutMs. Broken servers are dropped and replaced on demand, so the
 * pool recovers by itself when PostgreSQL comes back.
 */
export class Pool {
  private readonly idle: ServerConnection[] = [];
  private readonly all = new Set<ServerConnection>();
  private readonly waiters: Waiter[] = [];
  private connecting = 0;
  private closed = false;
  private readonly reaper: NodeJS.Timeout;

  constructor(private readonly options: PoolOptions) {
    this.reaper = setInterval(() => this.reapIdle(), Math.max(100, Math.min(options.idleTimeoutMs / 2, 10000)));
    this.reaper.unref();
  }

  /** Where and as whom new servers log in. */
  get target(): ServerTarget {
    return this.options.target;
  }

  stats(): { total: number; idle: number; active: number; waiting: number } {
    return { total: this.all.size, idle: this.idle.length, active: this.all.size - this.idle.length, waiting: this.waiters.length };
  }

  tryAcquire(): ServerConnection | null {
    const now = Date.now();
    while (this.idle.length) {
      const server = this.idle[this.idle.length - 1];
      if (server.broken) {
        this.idle.pop();
        continue;
      }
      if (this.options.healthCheckAfterMs > 0 && now - server.lastUsed > this.options.healthCheckAfterMs) return null;
      this.idle.pop();
      return server;
    }
    return null;
  }

  async acquire(): Promise<ServerConnection> {
    if (this.closed) throw new BackendError('pool_closed', '57P01', 'the proxy is shutting down');
    for (;;) {
      const server = this.idle.pop();
      if (!server) break;
      if (server.broken) continue;
      if (this.options.healthCheckAfterMs > 0 && Date.now() - server.lastUsed > this.options.healthCheckAfterMs) {
        const error = await Promise.race([server.runSilent(''), new Promise<'timeout'>((r) => setTimeout(r, this.options.target.connectTimeoutMs, 'timeout'))]);
        if (error !== null || server.broken) {
          this.options.logger.warn({ server: server.id }, 'server failed its health check; replacing it');
          this.destroy(server);
          continue;
        }
      }
      return server;
    }
    if (this.all.size + this.connecting < this.options.size) return this.connect();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(new BackendError('pool_timeout', '53300', `no PostgreSQL connection became free within ${this.options.acquireTimeoutMs} ms`));
        }, this.options.acquireTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private async connect(): Promise<ServerConnection> {
    this.connecting++;
    try {
      const server = await (this.options.connect ?? ServerConnection.connect)(this.options.target);
      server.onClose = (s) => this.forget(s);
      this.all.add(server);
      if (this.closed) {
        this.destroy(server);
        throw new BackendError('pool_closed', '57P01', 'the proxy is shutting down');
      }
      return server;
    } finally {
      this.connecting--;
    }
  }

  release(server: ServerConnection): void {
    server.owner = null;
    if (server.broken || this.closed || server.pending() > 0 || server.status !== 'I') {
      this.destroy(server);
      return;
    }
    server.lastUsed = Date.now();
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(server);
      return;
    }
    this.idle.push(server);
  }

  destroy(server: ServerConnection): void {
    server.owner = null;
    server.close();
    this.forget(server);
  }

  private forget(server: ServerConnection): void {
    if (!this.all.delete(server)) return;
    const at = this.idle.indexOf(server);
    if (at >= 0) this.idle.splice(at, 1);
    // A slot is free: a waiting client gets a fresh connection instead of timing out.
    const waiter = this.waiters.shift();
    if (waiter && !this.closed) {
      this.connect().then(
        (fresh) => {
          clearTimeout(waiter.timer);
          waiter.resolve(fresh);
        },
        (error: Error) => {
          clearTimeout(waiter.timer);
          waiter.reject(error);
        },
      );
    }
  }

  private reapIdle(): void {
    const cutoff = Date.now() - this.options.idleTimeoutMs;
    for (const server of [...this.idle]) if (server.lastUsed < cutoff) this.destroy(server);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.reaper);
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new BackendError('pool_closed', '57P01', 'the proxy is shutting down'));
    }
    for (const server of [...this.all]) this.destroy(server);
  }
}

/** Who a pool's servers log in as, when not the proxy's own user (delegated auth). */
export interface PoolLogin {
  user: string;
  scramKeys: ScramKeys;
}

/**
 * One pool per database the clients name, with the proxy's backend credentials; under
 * delegated auth, one per database and role, logging in as that role.
 */
export class PoolSet {
  private readonly pools = new Map<string, { database: string; pool: Pool }>();

  constructor(private readonly make: (database: string, login?: PoolLogin) => Pool) {}

  get(database: string, login?: PoolLogin): Pool {
    const key = login ? `${database}\0${login.user}` : database;
    let entry = this.pools.get(key);
    if (!entry) {
      entry = { database, pool: this.make(database, login) };
      this.pools.set(key, entry);
    } else if (login) {
      // The role's password may have changed since: new servers log in with the new keys.
      entry.pool.target.scramKeys = login.scramKeys;
    }
    return entry.pool;
  }

  /** Every pool with its database (several share one under delegated auth). */
  *entries(): IterableIterator<[string, Pool]> {
    for (const { database, pool } of this.pools.values()) yield [database, pool];
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((e) => e.pool.close()));
  }
}
