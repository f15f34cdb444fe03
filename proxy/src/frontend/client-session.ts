import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { ScramKeys } from '../auth/scram-sha-256';
import type { ProxyConfig } from '../config';
import type { PoolSet } from '../backend/pool';
import type { BackendError } from '../backend/backend-errors';
import type { ServerConnection, ServerOwner } from '../backend/server-connection';
import { HeldWrites } from '../backend/held-writes';
import type { StatementNames } from '../backend/statement-names';
import type { QueryEngine, Router, SessionContext } from '../engine/contract';
import type { HotSession } from '../engine/hot-session';
import type { ProxyMetrics } from '../metrics';
import * as wire from '../wire';
import type { ErrorFields } from '../wire/error-response';
import { MAX_AUTH_MESSAGE_SIZE, Refusal, type Ticket } from './admission';
import { loginMethodFor, type LoginMethod, type LoginStep } from './auth/login-method';
import type { PostgresVerifiers } from './auth/postgres-verifiers';
import type { UserStore } from './auth/user-store';
import { EngineRunner, type EngineHost } from './engine-runner';
import { MessageDispatch, type DispatchHost } from './message-dispatch';
import { backendErrorFields, ServerLink, type LinkHost } from './server-link';
import { SessionSettings } from './session-settings';
import type { SessionRegistry } from './session-registry';
import { acceptTls, readStartup } from './startup';

export interface SessionDeps {
  config: ProxyConfig;
  users: UserStore;
  /** Delegated auth (STRATA_PROXY_AUTH_QUERY): users not configured are looked up here. */
  verifiers?: PostgresVerifiers | null;
  pools: PoolSet;
  router: Router;
  engine: QueryEngine | null;
  /** Re-reads the tiered catalog (after this client's view DDL). */
  refreshCatalog?: () => Promise<void>;
  /** A catalog re-read in flight (PostgreSQL notified a change): the next message waits for it. */
  catalogPending?: () => Promise<void> | null;
  /** A router over the views as `hot`'s transaction sees them (a block that changed views). */
  blockRouter?: (hot: HotSession) => Promise<Router>;
  metrics: ProxyMetrics;
  logger: Logger;
  secureContext?: SecureContext;
  registry: SessionRegistry<ClientSession>;
  statementNames: StatementNames;
}

/** The connection's phases (after pg-gateway's connection.types.ts). */
const State = { startup: 0, auth: 1, ready: 2, closed: 3 } as const;
type State = (typeof State)[keyof typeof State];

let nextSessionId = 1;
/** Inbox marker: the frame reader failed here; the session ends once earlier messages are handled. */
const FRAMING_ERROR = -1;

/**
 * One client connection, as a state machine: startup (TLS, startup.ts), authentication
 * (a LoginMethod from auth/), then every message in order through the MessageDispatch,
 * on the server the ServerLink holds for it. This class owns the phases, the input
 * queue (one message at a time; a handler that returns a promise pauses the socket
 * until it settles) and the output to the client; the parts own the rest.
 */
export class ClientSession implements ServerOwner, EngineHost, DispatchHost, LinkHost {
  readonly id = nextSessionId++;
  readonly key: { processId: number; secretKey: number };
  socket: Socket;
  private state: State = State.startup;
  private readonly reader: wire.FrameReader;
  private inbox: Array<number | Buffer> = [];
  private inboxAt = 0;
  private busy = false;
  private drainHooked = false;
  private tls = false;
  private readonly log: Logger;

  user = '';
  database = '';
  /** What the client has been told (ParameterStatus) plus strata.route: the router's settings. */
  readonly params = new Map<string, string>();
  /** Login-time settings (startup parameters and `options`); `settings` tracks the rest. */
  private readonly desired = new Map<string, string>();
  /** What every server lent to this client must carry (transaction pooling). */
  private readonly settings: SessionSettings;
  readonly context: SessionContext;
  txStatus: wire.TransactionStatus = 'I';
  private readonly link: ServerLink;
  private readonly engine: EngineRunner;
  private readonly dispatch: MessageDispatch;
  private draining = false;
  private login: LoginMethod | null = null;
  /** Keys of a user whose login PostgreSQL vouched for (delegated auth). */
  private delegated: ScramKeys | null = null;

  constructor(
    socket: Socket,
    private readonly deps: SessionDeps,
    private readonly ticket: Ticket,
  ) {
    this.socket = socket;
    this.key = deps.registry.newKey();
    this.log = deps.logger.child({ session: this.id });
    // Raised to the configured maximum once logged in (completeLogin).
    this.reader = new wire.FrameReader(Math.min(deps.config.maxMessageSize, MAX_AUTH_MESSAGE_SIZE), true);
    ticket.startAuthTimer(deps.config.authTimeoutMs, () => this.authTimedOut());
    this.context = { user: '', database: '', settings: this.params, inTransaction: false };
    const transactionMode = deps.config.poolMode === 'transaction';
    this.settings = new SessionSettings(this.desired, transactionMode, this.log);
    this.link = new ServerLink(this, this, this.settings, transactionMode, this.log);
    this.engine = new EngineRunner(deps.engine, this, this.log, deps.metrics);
    this.dispatch = new MessageDispatch(this, this.link, this.engine, this.settings, deps, this.log);
    socket.setNoDelay(true);
    this.listen(socket);
    deps.registry.add(this);
    deps.metrics.clients.inc();
    deps.metrics.connectionsTotal.inc();
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.log.debug({ err: (error as NodeJS.ErrnoException).code }, 'client socket error'));
    socket.on('close', () => this.cleanup());
  }

  get closed(): boolean {
    return this.state === State.closed;
  }

  // ---- input -------------------------------------------------------------------------

  private readonly onFrame = (type: number, frame: Buffer): void => {
    this.inbox.push(type, frame);
  };

  private onData(chunk: Buffer): void {
    if (this.state === State.closed) return;
    try {
      this.reader.push(chunk, this.onFrame);
    } catch (error) {
      // Handled in order, after the messages that came before it.
      this.inbox.push(FRAMING_ERROR, error as Buffer);
      this.socket.pause();
    }
    if (!this.busy) this.pump();
  }

  private pump(): void {
    this.link.pumping = true;
    try {
      this.pumpFrames();
    } finally {
      this.link.pumping = false;
      this.link.uncork();
    }
  }

  private pumpFrames(): void {
    while (this.inboxAt < this.inbox.length && this.state !== State.closed) {
      if (this.catalogRefresh) return this.awaitCatalogRefresh(this.catalogRefresh);
      const notified = this.deps.catalogPending?.();
      if (notified) return this.awaitCatalogRefresh(notified, false);
      const blockViews = this.readBlockViewsIfDue();
      if (blockViews) return this.awaitCatalogRefresh(blockViews);
      const type = this.inbox[this.inboxAt] as number;
      const frame = this.inbox[this.inboxAt + 1] as Buffer;
      if (type === FRAMING_ERROR) {
        this.link.uncork();
        return this.protocolFailure(frame);
      }
      this.inbox[this.inboxAt + 1] = 0;
      this.inboxAt += 2;
      let pending: void | Promise<void>;
      try {
        pending = this.handle(type, frame);
      } catch (error) {
        this.link.uncork();
        this.failure(error);
        return;
      }
      if (pending) {
        this.link.uncork();
        this.busy = true;
        this.socket.pause();
        pending.then(
          () => {
            this.busy = false;
            this.resumeInput();
            this.pump();
          },
          (error: unknown) => {
            this.busy = false;
            this.failure(error);
          },
        );
        return;
      }
    }
    this.link.uncork();
    this.inbox.length = 0;
    this.inboxAt = 0;
  }

  /** A catalog re-read after this client's view DDL: the next message waits for it. */
  private catalogRefresh: Promise<void> | null = null;
  /** The client's block changed views: read them in the block before its next message. */
  private blockViewsDue = false;

  /**
   * DispatchHost: a statement of a string that changed views just ran (no ReadyForQuery
   * comes between a string's statements, so `ready` does not see it): the views re-read
   * as the next statement will see them — the block's own, or the catalog once committed
   * or rolled back.
   */
  async settleCatalog(): Promise<void> {
    this.catalogAfterStatement();
    this.readBlockViewsIfDue();
    for (const pending of [this.catalogRefresh, this.deps.catalogPending?.()]) await pending?.catch(() => undefined);
  }

  /**
   * After a statement, in a session that changed views: inside a block, its views are read
   * again before the next statement (it may change them again, or undo them: ROLLBACK TO
   * SAVEPOINT); out of it, the catalog is re-read (committed: they are everyone's).
   */
  private catalogAfterStatement(): void {
    if (!this.dispatch.viewsChanged) return;
    if (this.txStatus === 'T') this.blockViewsDue = true;
    else if (this.txStatus === 'I' && this.deps.refreshCatalog) {
      this.dispatch.viewsChanged = false;
      this.catalogRefresh = this.deps.refreshCatalog();
    }
  }

  /** Starts reading the block's views when due (as `catalogRefresh`): that read, or null. */
  private readBlockViewsIfDue(): Promise<void> | null {
    if (!this.blockViewsDue) return null;
    this.blockViewsDue = false;
    return (this.catalogRefresh = this.readBlockViews());
  }

  /**
   * The views as the client's block sees them, on its own server connection: the catalog
   * connection cannot see the block's uncommitted CREATE VIEW (nor a view it replaced or
   * dropped), and a statement naming one must be routed as PostgreSQL will resolve it.
   */
  private async readBlockViews(): Promise<void> {
    if (!this.deps.blockRouter || this.txStatus !== 'T') return;
    const hot = await this.openSession();
    try {
      this.dispatch.blockRouter = await this.deps.blockRouter(hot);
    } finally {
      this.closeSession();
    }
  }

  /** `own`: this session's re-read (else the proxy's, which logs its own failure). */
  private awaitCatalogRefresh(refresh: Promise<void>, own = true): void {
    this.link.uncork();
    this.busy = true;
    this.socket.pause();
    refresh.then(
      () => undefined,
      (error: unknown) => own && this.log.warn({ err: (error as Error).message }, 'catalog refresh after view DDL failed'),
    ).finally(() => {
      if (this.catalogRefresh === refresh) this.catalogRefresh = null;
      this.busy = false;
      this.resumeInput();
      this.pump();
    });
  }

  /** LinkHost: the server's socket is full. */
  pauseInput(): void {
    this.socket.pause();
  }

  resumeInput(): void {
    if (!this.busy && !this.link.waitingDrain && this.state !== State.closed) this.socket.resume();
  }

  private handle(type: number, frame: Buffer): void | Promise<void> {
    if (this.state === State.ready) return this.dispatch.handle(type, frame);
    if (this.state === State.startup) return this.handleStartup(frame);
    if (this.state === State.auth && type === wire.Frontend.password && this.login) return this.authenticate(frame);
    if (type === wire.Frontend.terminate) return this.close();
    throw new wire.ProtocolError(wire.ProtocolErrorCode.unexpectedMessage, `unexpected message type ${type} during authentication`);
  }

  // ---- output ------------------------------------------------------------------------

  /** Replies of one server read, held between cork() and uncork(). */
  private readonly held = new HeldWrites();

  /** ServerOwner: the replies of one server read leave in one write. */
  cork(): void {
    this.held.hold();
  }

  uncork(): void {
    const bytes = this.held.take();
    if (bytes && !this.write(bytes)) this.link.server?.pause();
  }

  /** ServerOwner: relayed and local bytes for the client. */
  write(bytes: Buffer): boolean {
    if (this.state === State.closed || this.held.add(bytes)) return true;
    const ok = this.socket.write(bytes);
    if (!ok && !this.drainHooked) {
      this.drainHooked = true;
      this.socket.once('drain', () => {
        this.drainHooked = false;
        this.link.server?.resume();
      });
    }
    return ok;
  }

  /** Writes and waits while the client is slow, so engine results stay bounded in memory. */
  async writeAsync(bytes: Buffer): Promise<void> {
    if (this.write(bytes) || this.state === State.closed) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('close', done);
        this.socket.off('drain', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /** A reply the proxy makes itself, after every reply already owed. */
  localReply(bytes: Buffer): void {
    if (this.link.server) this.link.server.local(bytes);
    else this.write(bytes);
  }

  errorFields(fields: ErrorFields, source: string): Buffer {
    this.deps.metrics.errors.inc({ source, class: fields.code.slice(0, 2) });
    return wire.encodeErrorResponse(fields);
  }

  // ---- startup and authentication ----------------------------------------------------

  private handleStartup(frame: Buffer): void | Promise<void> {
    const packet = wire.decodeStartupPacket(frame);
    switch (packet.kind) {
      case 'ssl': {
        const secureContext = this.deps.secureContext;
        if (this.tls || !secureContext) {
          this.write(wire.SSL_REFUSE);
          return;
        }
        // Bytes after SSLRequest but before the handshake would be read as if encrypted:
        // refuse them (CVE-2021-23214).
        if (this.reader.buffered() > 0 || this.inboxAt < this.inbox.length) {
          throw new wire.ProtocolError(wire.ProtocolErrorCode.unexpectedMessage, 'unencrypted data after SSL request');
        }
        this.write(wire.SSL_ACCEPT);
        this.socket = acceptTls(this.socket, secureContext);
        this.tls = true;
        this.listen(this.socket);
        return;
      }
      case 'gssenc':
        this.write(wire.GSSENC_REFUSE);
        return;
      case 'cancel':
        this.deps.registry.cancel(packet.processId, packet.secretKey);
        this.close();
        return;
      case 'startup':
        return this.startSession(packet.parameters);
    }
  }

  private startSession(parameters: Map<string, string>): void {
    this.reader.untyped = false;
    const login = readStartup(parameters, this.ticket.admitted, this.deps.config.tls?.required ?? false, this.tls);
    if ('code' in login) return this.fatal(login);
    this.user = login.user;
    this.database = login.database;
    this.context.user = this.user;
    this.context.database = this.database;
    for (const [name, value] of login.settings) this.desired.set(name, value);
    this.state = State.auth;
    this.log.info({ user: this.user, database: this.database, tls: this.tls }, 'client connected');
    const { users, verifiers } = this.deps;
    this.login = loginMethodFor(this.user, { method: this.deps.config.auth.method, users, verifiers, log: this.log });
    this.write(this.login.request);
  }

  private authenticate(frame: Buffer): void | Promise<void> {
    const step = this.login!.step(frame);
    return step instanceof Promise ? step.then((s) => this.afterLoginStep(s)) : this.afterLoginStep(step);
  }

  private afterLoginStep(step: LoginStep): void | Promise<void> {
    if (this.state === State.closed) return;
    switch (step.next) {
      case 'continue':
        this.write(step.reply);
        return;
      case 'refused':
        return this.authFailed(step.reason);
      case 'fatal':
        return this.fatal(step.fields);
      case 'accepted':
        this.login = null;
        if (step.delegated) {
          // From here this session is the PostgreSQL role itself: the engine checks its privileges.
          this.delegated = step.delegated;
          this.context.role = this.user;
        }
        if (step.reply) this.write(step.reply);
        return this.completeLogin();
    }
  }

  /** PostgreSQL's authentication_timeout (its message and code; it closes without telling the client). */
  private authTimedOut(): void {
    if (this.state === State.ready || this.state === State.closed) return;
    this.log.info({ phase: this.state === State.startup ? 'startup' : 'auth' }, 'authentication timed out');
    this.deps.metrics.clientsRefused.inc({ reason: Refusal.authTimeout });
    this.fatal({ severity: 'FATAL', code: '57014', message: 'canceling authentication due to timeout' });
  }

  private authFailed(reason: string): void {
    this.log.info({ user: this.user, reason }, 'authentication failed');
    this.fatal({ severity: 'FATAL', code: '28P01', message: `password authentication failed for user "${this.user}"` });
  }

  /** Checks the database with a real server and brings its settings to the client's. */
  private async completeLogin(): Promise<void> {
    const pool = this.deps.pools.get(this.database, this.delegated ? { user: this.user, scramKeys: this.delegated } : undefined);
    this.link.pool = pool;
    let server: ServerConnection;
    try {
      server = await pool.acquire();
    } catch (error) {
      return this.fatal(backendErrorFields(error, 'FATAL', this.log));
    }
    if (this.state === State.closed) {
      pool.release(server);
      return;
    }
    // SETs what this client wants and RESETs what another left.
    const error = await this.settings.apply(server);
    // The auth timeout may have closed the session during the await.
    if (error || (this.state as State) === State.closed) {
      pool.release(server);
      return error ? this.fatal({ ...error, severity: 'FATAL' }) : undefined;
    }
    const out: Buffer[] = [wire.AUTHENTICATION_OK];
    for (const [name, value] of server.params) {
      this.params.set(name, value);
      out.push(wire.encodeParameterStatus(name, value));
    }
    if (!this.params.has('strata.route')) this.params.set('strata.route', 'auto');
    out.push(wire.encodeBackendKeyData(this.key), wire.readyForQuery('I'));
    this.state = State.ready;
    this.ticket.loggedIn();
    this.reader.maxMessageSize = this.deps.config.maxMessageSize;
    this.write(Buffer.concat(out));
    if (this.deps.config.poolMode === 'transaction') pool.release(server);
    else this.link.adopt(server);
  }

  // ---- the engine on the client's server (EngineHost) --------------------------------

  /** The server lent to this client, drained and opened as the engine's channel. */
  async openSession(): Promise<HotSession> {
    const server = await this.link.lendToEngine();
    return server.openChannel({
      parameter: (name, value) => {
        server.params.set(name, value);
        this.serverParameter(name, value);
        this.write(wire.encodeParameterStatus(name, value));
      },
      asynchronous: (bytes) => this.write(bytes),
    });
  }

  /** The engine is done with the server; the relay has it again. */
  closeSession(): void {
    const server = this.link.backFromEngine();
    if (!server) return;
    server.closeChannel();
    this.noteStatus(server.status);
    this.link.releaseIfIdle();
  }

  /** Engine errors in an extended batch: drop the rest of it, as PostgreSQL does. */
  skipUntilSync(): void {
    this.dispatch.skipping = true;
  }

  noteStatus(status: wire.TransactionStatus): void {
    this.txStatus = status;
    this.context.inTransaction = status !== 'I';
    // A block's own views end with it: committed they are the catalog's, rolled back gone.
    if (status === 'I') this.dispatch.blockRouter = null;
  }

  // ---- ServerOwner -------------------------------------------------------------------

  serverParameter(name: string, value: string): void {
    this.params.set(name, value);
    this.settings.reported();
  }

  ready(status: wire.TransactionStatus, startedAt: number): void {
    this.noteStatus(status);
    this.catalogAfterStatement();
    if (startedAt) this.deps.metrics.latency.observe((performance.now() - startedAt) / 1000);
    this.link.releaseIfIdle();
    if (this.draining) this.maybeFinishDrain();
  }

  extendedError(): void {
    this.dispatch.skipping = true;
  }

  serverLost(error: BackendError): void {
    this.link.server = null;
    if (this.state === State.closed) return;
    this.log.warn({ code: error.sqlState }, 'PostgreSQL connection lost while serving this client');
    this.fatal({ ...(error.fields ?? { code: error.sqlState, message: error.message }), severity: 'FATAL' });
  }

  /** LinkHost: a release waited for the server's settings to be read back. */
  released(): void {
    if (this.draining) this.maybeFinishDrain();
  }

  /** For diagnostics: where this session is, without anything the client sent. */
  diagnostics(): Record<string, unknown> {
    const server = this.link.server;
    return {
      id: this.id,
      state: this.state,
      busy: this.busy,
      skipping: this.dispatch.skipping,
      unsynced: this.link.unsynced,
      inbox: (this.inbox.length - this.inboxAt) / 2,
      waitingServerDrain: this.link.waitingDrain,
      server: server ? { id: server.id, pending: server.pending(), status: server.status, paused: server.socket.isPaused() } : null,
      paused: this.socket.isPaused(),
    };
  }

  // ---- cancel, errors, shutdown ------------------------------------------------------

  cancel(): void {
    const server = this.link.server;
    if (server && server.pending() > 0) server.cancel();
    this.engine.cancel();
  }

  private protocolFailure(error: unknown): void {
    this.deps.metrics.protocolErrors.inc();
    const message = error instanceof Error ? error.message : 'protocol violation';
    this.log.info({ code: error instanceof wire.ProtocolError ? error.code : 'unknown' }, 'client broke the protocol; closing its session');
    this.fatal({ severity: 'FATAL', code: '08P01', message });
  }

  private failure(error: unknown): void {
    if (error instanceof wire.ProtocolError) return this.protocolFailure(error);
    this.log.error({ err: error }, 'session failed');
    this.fatal({ severity: 'FATAL', code: 'XX000', message: 'internal error in the Strata proxy' });
  }

  fatal(fields: ErrorFields): void {
    if (this.state === State.closed) return;
    this.write(this.errorFields(fields, 'proxy'));
    this.close();
  }

  close(): void {
    if (this.state === State.closed) return;
    this.uncork();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 5000).unref();
    this.cleanup();
  }

  /** Graceful shutdown: idle sessions end now, busy ones when their transaction does. */
  drain(): void {
    this.draining = true;
    this.maybeFinishDrain();
  }

  private maybeFinishDrain(): void {
    const server = this.link.server;
    if (this.state === State.ready && (!server || (server.pending() === 0 && server.status === 'I' && !this.busy))) {
      this.fatal({ severity: 'FATAL', code: '57P01', message: 'terminating connection due to administrator command' });
    } else if (this.state !== State.ready && this.state !== State.closed) {
      this.fatal({ severity: 'FATAL', code: '57P01', message: 'the server is shutting down' });
    }
  }

  private cleanup(): void {
    if (this.state === State.closed) return;
    this.state = State.closed;
    this.deps.registry.delete(this);
    this.ticket.leave();
    this.deps.metrics.clients.dec();
    this.engine.cancel();
    this.inbox = [];
    this.link.leave();
    this.log.info('client disconnected');
  }
}
