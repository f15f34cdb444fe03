import type { Logger } from 'pino';
import { BackendError } from '../backend/backend-errors';
import type { Pool } from '../backend/pool';
import type { ServerConnection, ServerOwner } from '../backend/server-connection';
import type { ErrorFields } from '../wire/error-response';
import type { SessionSettings } from './session-settings';

/** What the link needs from its session. */
export interface LinkHost {
  readonly closed: boolean;
  pauseInput(): void;
  resumeInput(): void;
  /** A release that first read the server's settings back is done (or gave up). */
  released(): void;
}

/**
 * The PostgreSQL server a client session holds, and when it holds one: taken from the
 * pool for the session (session pooling) or for each transaction (transaction pooling,
 * with the client's settings applied first), given back when the client is idle, the
 * engine is done with it and no extended batch is open. Also the relay's flow control:
 * client bytes for one pump run leave in one write (hold/release), and a full server
 * socket stops reading from the client until it drains.
 */
export class ServerLink {
  pool: Pool | null = null;
  server: ServerConnection | null = null;
  /** Extended messages sent since the last Sync: the server must stay with this client. */
  unsynced = false;
  /** The tier engine is using the server (EngineHost openSession … closeSession). */
  private engineHolds = false;
  /** The server's socket is full: the client's is paused until it drains. */
  waitingDrain = false;
  /** True during the synchronous part of the session's pump run. */
  pumping = false;
  /** The server whose socket is corked while this pump run writes to it. */
  private corked: ServerConnection | null = null;

  constructor(
    private readonly owner: ServerOwner,
    private readonly host: LinkHost,
    private readonly settings: SessionSettings,
    private readonly transactionMode: boolean,
    private readonly log: Logger,
  ) {}

  adopt(server: ServerConnection): void {
    server.owner = this.owner;
    this.server = server;
    // A previous client may have left it paused while that client's socket was full.
    server.resume();
  }

  /** The server for this client's next message: the one it holds, an idle one, or one to wait for. */
  attach(): ServerConnection | Promise<ServerConnection> {
    if (this.server) return this.server;
    const pool = this.pool!;
    const idle = pool.tryAcquire();
    if (idle && this.settings.matches(idle)) {
      this.adopt(idle);
      return idle;
    }
    const pending = idle ? Promise.resolve(idle) : pool.acquire();
    return pending.then(async (server) => {
      if (this.host.closed) {
        pool.release(server);
        throw new BackendError('backend_lost', '08006', 'client went away');
      }
      const error = await this.settings.apply(server);
      if (error) this.log.warn({ code: error.code }, 'could not apply client settings on a server');
      this.adopt(server);
      return server;
    });
  }

  /** The server, every earlier reply relayed, for the engine: held until backFromEngine(). */
  async lendToEngine(): Promise<ServerConnection> {
    // Held from here: the server must not go back to the pool while the engine waits for it.
    this.engineHolds = true;
    try {
      const server = await this.attach();
      await server.whenDrained();
      if (server !== this.server) throw new BackendError('backend_lost', '08006', 'lost the connection to PostgreSQL');
      return server;
    } catch (error) {
      this.engineHolds = false;
      throw error;
    }
  }

  /** The engine is done with the server (null when it was lost meanwhile). */
  backFromEngine(): ServerConnection | null {
    this.engineHolds = false;
    return this.server;
  }

  whenDrained(): Promise<void> {
    return this.server ? this.server.whenDrained() : Promise.resolve();
  }

  send(server: ServerConnection, bytes: Buffer): void {
    // Cork only inside a synchronous pump run, which uncorks when it ends; from async
    // code (after an await) a write must leave at once or it could wait forever.
    if (this.pumping && this.corked !== server) {
      this.uncork();
      server.hold();
      this.corked = server;
    }
    if (!server.send(bytes)) this.waitForDrain(server);
  }

  /** Sends what this pump run held for the server. */
  uncork(): void {
    const server = this.corked;
    this.corked = null;
    if (server && !server.release()) this.waitForDrain(server);
  }

  /** The server's socket is full: read no more from the client until it drains. */
  private waitForDrain(server: ServerConnection): void {
    if (!this.waitingDrain) {
      this.waitingDrain = true;
      this.host.pauseInput();
      server.socket.once('drain', () => {
        this.waitingDrain = false;
        this.host.resumeInput();
      });
    }
  }

  /** Transaction pooling: the server goes back to the pool once nothing ties it to this client. */
  releaseIfIdle(): void {
    const server = this.server;
    if (!server || !this.transactionMode || this.unsynced || this.engineHolds || server.pending() > 0 || server.status !== 'I') return;
    const readBack = this.settings.readBackBeforeRelease(server, () => {
      this.releaseIfIdle();
      this.host.released();
    });
    if (readBack) return;
    this.server = null;
    this.pool!.release(server);
  }

  /** The client is gone: its server goes back clean, or is closed. */
  leave(): void {
    const server = this.server;
    this.server = null;
    const pool = this.pool;
    if (!server || !pool) return;
    server.owner = null;
    if (server.broken || server.pending() > 0 || server.status !== 'I' || this.unsynced) pool.destroy(server);
    else if (this.transactionMode) pool.release(server);
    else {
      // Session pooling: the next client must not inherit this one's session state.
      server.runSilent('DISCARD ALL').then((error) => {
        forgetStatements(server);
        server.sessionSettings.clear();
        if (error) pool.destroy(server);
        else pool.release(server);
      });
    }
  }
}

/** The server no longer holds any prepared statement (DISCARD ALL, DEALLOCATE ALL). */
export function forgetStatements(server: ServerConnection): void {
  server.prepared.clear();
  server.unnamed = null;
}

/** What the client is told when PostgreSQL cannot serve it: the BackendError's fields, else a generic XX000. */
export function backendErrorFields(error: unknown, severity: 'ERROR' | 'FATAL', log: Logger): ErrorFields {
  if (error instanceof BackendError) {
    if (error.fields) return { ...error.fields, severity };
    return { severity, code: error.sqlState, message: error.message };
  }
  log.error({ err: error }, 'unexpected error reaching PostgreSQL');
  return { severity, code: 'XX000', message: 'internal error in the Strata proxy' };
}
