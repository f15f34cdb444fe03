import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { ProxyConfig } from '../config';
import type { Pool, PoolSet } from '../backend/pool';
import { BackendError } from '../backend/backend-errors';
import type { ServerConnection, ServerOwner } from '../backend/server-connection';
import { HeldWrites } from '../backend/held-writes';
import type { StatementNames } from '../backend/statement-names';
import type { QueryEngine, ResultField, Route, Router, SessionContext } from '../engine/contract';
import type { HotSession } from '../engine/hot-session';
import type { ProxyMetrics } from '../metrics';
import * as wire from '../wire';
import type { ErrorFields } from '../wire/error-response';
import { MAX_AUTH_MESSAGE_SIZE, Refusal, type Ticket } from './admission';
import { md5Matches } from '../auth/md5';
import type { PostgresVerifiers, VerifierLookup } from './auth/postgres-verifiers';
import { ScramServer, type ScramKeys } from '../auth/scram-sha-256';
import type { UserStore } from './auth/user-store';
import { EngineRunner } from './engine-runner';
import { SessionSettings } from './session-settings';
import type { SessionRegistry } from './session-registry';
import { splitStatements } from './split-statements';

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
  metrics: ProxyMetrics;
  logger: Logger;
  secureContext?: SecureContext;
  registry: SessionRegistry<ClientSession>;
  statementNames: StatementNames;
}

/** The connection's phases (after pg-gateway's connection.types.ts). */
const State = { startup: 0, auth: 1, ready: 2, closed: 3 } as const;
type State = (typeof State)[keyof typeof State];

/** A prepared statement as the client named it. */
export interface Statement {
  sql: string;
  paramTypes: number[];
  route: Route;
  /** Sql and parameter types: what makes two Parses interchangeable. */
  identity: string;
  /** The client's Parse, re-sent as is for the unnamed statement. */
  frame: Buffer;
  backendName?: string;
  described?: { paramTypes: number[]; fields: ResultField[] };
}

/** Startup parameters that belong to the protocol, not to settings PostgreSQL should SET. */
const NOT_SETTINGS = new Set(['user', 'database', 'replication', 'options']);
const HAS_CODE = /[^\s]/;
const DISCARDS_STATEMENTS = /^\s*(discard\s+all|deallocate\s+(prepare\s+)?all)\b/i;
const SET_ROUTE = /^\s*set\s+(?:session\s+)?strata\.route\s*(?:=|to)\s*'?(auto|hot|cold)'?\s*;?\s*$/i;

let nextSessionId = 1;
/** Inbox marker: the frame reader failed here; the session ends once earlier messages are handled. */
const FRAMING_ERROR = -1;

/**
 * One client connection: startup (TLS, auth), then every message in order. Statements
 * the router keeps on PostgreSQL are relayed as the client's own bytes; statements it
 * sends to the engine are answered by the EngineRunner; replies reach the client in the
 * order it asked, through the server's reply queue.
 */
export class ClientSession implements ServerOwner {
  readonly id = nextSessionId++;
  readonly key: { processId: number; secretKey: number };
  socket: Socket;
  private state: State = State.startup;
  private readonly reader: wire.FrameReader;
  private inbox: Array<number | Buffer> = [];
  private inboxAt = 0;
  private busy = false;
  private waitingServerDrain = false;
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
  private pool: Pool | null = null;
  server: ServerConnection | null = null;
  private txStatus: wire.TransactionStatus = 'I';
  /** After an error in an extended-protocol batch, messages up to Sync are dropped. */
  private skipping = false;
  /** Extended messages sent since the last Sync: the server must stay with this client. */
  private unsynced = false;
  private readonly statements = new Map<string, Statement>();
  private unnamed: Statement | null = null;
  private readonly engine: EngineRunner;
  private draining = false;
  private authStep: ((type: number, frame: Buffer) => void | Promise<void>) | null = null;
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
    this.engine = new EngineRunner(deps.engine, this, this.log, deps.metrics);
    this.settings = new SessionSettings(this.desired, deps.config.poolMode === 'transaction', this.log);
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

  private get transactionMode(): boolean {
    return this.deps.config.poolMode === 'transaction';
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

  /** True during the synchronous part of pump(). */
  private pumping = false;

  private pump(): void {
    this.pumping = true;
    try {
      this.pumpFrames();
    } finally {
      this.pumping = false;
      this.uncorkServer();
    }
  }

  private pumpFrames(): void {
    while (this.inboxAt < this.inbox.length && this.state !== State.closed) {
      if (this.catalogRefresh) return this.awaitCatalogRefresh(this.catalogRefresh);
      const type = this.inbox[this.inboxAt] as number;
      const frame = this.inbox[this.inboxAt + 1] as Buffer;
      if (type === FRAMING_ERROR) {
        this.uncorkServer();
        return this.protocolFailure(frame);
      }
      this.inbox[this.inboxAt + 1] = 0;
      this.inboxAt += 2;
      let pending: void | Promise<void>;
      try {
        pending = this.handle(type, frame);
      } catch (error) {
        this.uncorkServer();
        this.failure(error);
        return;
      }
      if (pending) {
        this.uncorkServer();
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
    this.uncorkServer();
    this.inbox.length = 0;
    this.inboxAt = 0;
  }

  /** A catalog re-read after this client's view DDL: the next message waits for it. */
  private catalogRefresh: Promise<void> | null = null;
  /** View DDL was relayed: re-read the catalog when the client's transaction ends. */
  private viewsChanged = false;

  private awaitCatalogRefresh(refresh: Promise<void>): void {
    this.uncorkServer();
    this.busy = true;
    this.socket.pause();
    refresh.then(
      () => undefined,
      (error: unknown) => this.log.warn({ err: (error as Error).message }, 'catalog refresh after view DDL failed'),
    ).finally(() => {
      if (this.catalogRefresh === refresh) this.catalogRefresh = null;
      this.busy = false;
      this.resumeInput();
      this.pump();
    });
  }

  /** Replies of one server read, held between cork() and uncork(). */
  private readonly held = new HeldWrites();

  /** ServerOwner: the replies of one server read leave in one write. */
  cork(): void {
    this.held.hold();
  }

  uncork(): void {
    const bytes = this.held.take();
    if (bytes && !this.write(bytes)) this.server?.pause();
  }

  /** The server whose socket is corked while this pump run writes to it. */
  private corked: ServerConnection | null = null;

  private uncorkServer(): void {
    const server = this.corked;
    this.corked = null;
    if (server && !server.release()) this.waitForServerDrain(server);
  }

  private resumeInput(): void {
    if (!this.busy && !this.waitingServerDrain && this.state !== State.closed) this.socket.resume();
  }

  private handle(type: number, frame: Buffer): void | Promise<void> {
    if (this.state === State.ready) return this.handleReady(type, frame);
    if (this.state === State.startup) return this.handleStartup(frame);
    if (this.state === State.auth && type === wire.Frontend.password && this.authStep) return this.authStep(type, frame);
    if (type === wire.Frontend.terminate) return this.close();
    throw new wire.ProtocolError(wire.ProtocolErrorCode.unexpectedMessage, `unexpected message type ${type} during authentication`);
  }

  // ---- output ------------------------------------------------------------------------

  /** ServerOwner: relayed and local bytes for the client. */
  write(bytes: Buffer): boolean {
    if (this.state === State.closed || this.held.add(bytes)) return true;
    const ok = this.socket.write(bytes);
    if (!ok && !this.drainHooked) {
      this.drainHooked = true;
      this.socket.once('drain', () => {
        this.drainHooked = false;
        this.server?.resume();
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

  /** The tier engine is using the server (openSession … closeSession). */
  private engineHolds = false;

  /** EngineHost: the server lent to this client, drained and opened as the engine's channel. */
  async openSession(): Promise<HotSession> {
    // Held from here: the server must not go back to the pool while the engine waits for it.
    this.engineHolds = true;
    let server: ServerConnection;
    try {
      server = await this.attach();
      await server.whenDrained();
      if (server !== this.server) throw new BackendError('backend_lost', '08006', 'lost the connection to PostgreSQL');
    } catch (error) {
      this.engineHolds = false;
      throw error;
    }
    return server.openChannel({
      parameter: (name, value) => {
        server.params.set(name, value);
        this.serverParameter(name, value);
        this.write(wire.encodeParameterStatus(name, value));
      },
      asynchronous: (bytes) => this.write(bytes),
    });
  }

  /** EngineHost: the engine is done with the server; the relay has it again. */
  closeSession(): void {
    this.engineHolds = false;
    const server = this.server;
    if (!server) return;
    server.closeChannel();
    this.txStatus = server.status;
    this.context.inTransaction = server.status !== 'I';
    this.releaseIfIdle();
  }

  /** A reply the proxy makes itself, after every reply already owed. */
  localReply(bytes: Buffer): void {
    if (this.server) this.server.local(bytes);
    else this.write(bytes);
  }

  private sendToServer(server: ServerConnection, bytes: Buffer): void {
    // Cork only inside a synchronous pump run, which uncorks when it ends; from async
    // code (after an await) a write must leave at once or it could wait forever.
    if (this.pumping && this.corked !== server) {
      this.uncorkServer();
      server.hold();
      this.corked = server;
    }
    if (!server.send(bytes)) this.waitForServerDrain(server);
  }

  /** The server's socket is full: read no more from the client until it drains. */
  private waitForServerDrain(server: ServerConnection): void {
    if (!this.waitingServerDrain) {
      this.waitingServerDrain = true;
      this.socket.pause();
      server.socket.once('drain', () => {
        this.waitingServerDrain = false;
        this.resumeInput();
      });
    }
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
        if (this.tls || !this.deps.secureContext) {
          this.write(wire.SSL_REFUSE);
          return;
        }
        // Bytes after SSLRequest but before the handshake would be read as if encrypted:
        // refuse them (CVE-2021-23214).
        if (this.reader.buffered() > 0 || this.inboxAt < this.inbox.length) {
          throw new wire.ProtocolError(wire.ProtocolErrorCode.unexpectedMessage, 'unencrypted data after SSL request');
        }
        this.write(wire.SSL_ACCEPT);
        this.upgradeToTls(this.deps.secureContext);
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

  private upgradeToTls(secureContext: SecureContext): void {
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    raw.on('error', () => undefined);
    const secure = new TLSSocket(raw, { isServer: true, secureContext });
    this.socket = secure;
    this.tls = true;
    this.listen(secure);
  }

  private startSession(parameters: Map<string, string>): void {
    if (!this.ticket.admitted) return this.fatal({ severity: 'FATAL', code: '53300', message: 'sorry, too many clients already' });
    this.reader.untyped = false;
    const user = parameters.get('user');
    if (!user) return this.fatal({ severity: 'FATAL', code: '28000', message: 'no PostgreSQL user name specified in startup packet' });
    if (this.deps.config.tls?.required && !this.tls) {
      return this.fatal({ severity: 'FATAL', code: '28000', message: 'this server accepts only connections over TLS (sslmode=require)' });
    }
    this.user = user;
    this.database = parameters.get('database') || user;
    this.context.user = this.user;
    this.context.database = this.database;
    for (const [name, value] of parameters) if (!NOT_SETTINGS.has(name)) this.desired.set(name, value);
    for (const [name, value] of parseOptions(parameters.get('options') ?? '')) this.desired.set(name, value);
    this.state = State.auth;
    this.log.info({ user: this.user, database: this.database, tls: this.tls }, 'client connected');
    if (this.deps.config.auth.method === 'md5') this.beginMd5();
    else this.beginScram();
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

  private beginScram(): void {
    const configured = this.deps.users.scram(this.user);
    // Delegated auth: the lookup starts now and is awaited when the client's first SCRAM
    // message needs the salt. Configured users never reach PostgreSQL for this.
    const lookup = !configured && this.deps.verifiers ? this.deps.verifiers.lookup(this.user) : null;
    lookup?.catch(() => undefined);
    this.write(wire.encodeAuthenticationSasl(['SCRAM-SHA-256']));
    this.authStep = async (_type, frame) => {
      let verifier = configured;
      let refusal: string | null = configured ? null : 'unknown user';
      if (lookup) {
        let found: VerifierLookup;
        try {
          found = await lookup;
        } catch (error) {
          this.log.warn({ err: (error as Error).message }, 'delegated authentication: the auth query failed');
          return this.fatal({ severity: 'FATAL', code: '08006', message: 'could not check the password: the proxy cannot query PostgreSQL for it' });
        }
        if (this.state === State.closed) return;
        if ('verifier' in found) [verifier, refusal] = [found.verifier, null];
        else refusal = found.refused;
      }
      // Unknown users run the whole exchange with a made-up verifier and fail at the end,
      // so a client cannot tell them from wrong passwords (as PostgreSQL does).
      const scram = new ScramServer(verifier ?? this.deps.users.mockScram(this.user));
      const initial = wire.decodeSaslInitialResponse(frame);
      if (initial.mechanism !== 'SCRAM-SHA-256') return this.authFailed('unsupported SASL mechanism');
      let serverFirst: string;
      try {
        serverFirst = scram.first(initial.data.toString('utf8'));
      } catch (error) {
        return this.authFailed((error as Error).message);
      }
      this.write(wire.encodeAuthenticationSaslContinue(Buffer.from(serverFirst)));
      this.authStep = (_t, finalFrame) => {
        let serverFinal: string;
        try {
          serverFinal = scram.final(wire.decodeSaslResponse(finalFrame).toString('utf8'));
        } catch (error) {
          return this.authFailed(refusal ?? (error as Error).message);
        }
        if (refusal) return this.authFailed(refusal);
        if (lookup) {
          // From here this session is the PostgreSQL role itself: its servers log in as
          // the user with the keys the proof revealed, and the engine checks its privileges.
          this.delegated = scram.keys();
          this.context.role = this.user;
        }
        this.write(wire.encodeAuthenticationSaslFinal(Buffer.from(serverFinal)));
        return this.completeLogin();
      };
    };
  }

  private beginMd5(): void {
    const salt = randomBytes(4);
    this.write(wire.encodeAuthenticationMd5(salt));
    this.authStep = (_type, frame) => {
      const secret = this.deps.users.secret(this.user);
      if (!secret || !md5Matches(this.user, secret, salt, wire.decodePasswordMessage(frame))) return this.authFailed(secret ? 'wrong password' : 'unknown user');
      return this.completeLogin();
    };
  }

  /** Checks the database with a real server and brings its settings to the client's. */
  private async completeLogin(): Promise<void> {
    this.authStep = null;
    this.pool = this.deps.pools.get(this.database, this.delegated ? { user: this.user, scramKeys: this.delegated } : undefined);
    let server: ServerConnection;
    try {
      server = await this.pool.acquire();
    } catch (error) {
      return this.fatal(this.backendErrorFields(error, 'FATAL'));
    }
    if (this.state === State.closed) {
      this.pool.release(server);
      return;
    }
    const error = await this.applySettings(server);
    // The auth timeout may have closed the session during the await.
    if (error || (this.state as State) === State.closed) {
      this.pool.release(server);
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
    if (this.transactionMode) this.pool.release(server);
    else this.adopt(server);
  }

  /** SETs what this client wants and RESETs what another left; resolves with PostgreSQL's error, if any. */
  private applySettings(server: ServerConnection): Promise<ErrorFields | null> {
    return this.settings.apply(server);
  }

  // ---- servers -----------------------------------------------------------------------

  private adopt(server: ServerConnection): void {
    server.owner = this;
    this.server = server;
    // A previous client may have left it paused while that client's socket was full.
    server.resume();
  }

  /** The server for this client's next message: the one it holds, an idle one, or one to wait for. */
  private attach(): ServerConnection | Promise<ServerConnection> {
    if (this.server) return this.server;
    const pool = this.pool!;
    const idle = pool.tryAcquire();
    if (idle && this.settingsMatch(idle)) {
      this.adopt(idle);
      return idle;
    }
    const pending = idle ? Promise.resolve(idle) : pool.acquire();
    return pending.then(async (server) => {
      if (this.state === State.closed) {
        pool.release(server);
        throw new BackendError('backend_lost', '08006', 'client went away');
      }
      const error = await this.applySettings(server);
      if (error) this.log.warn({ code: error.code }, 'could not apply client settings on a server');
      this.adopt(server);
      return server;
    });
  }

  private settingsMatch(server: ServerConnection): boolean {
    return this.settings.matches(server);
  }

  private backendErrorFields(error: unknown, severity: 'ERROR' | 'FATAL'): ErrorFields {
    if (error instanceof BackendError) {
      if (error.fields) return { ...error.fields, severity };
      return { severity, code: error.sqlState, message: error.message };
    }
    this.log.error({ err: error }, 'unexpected error reaching PostgreSQL');
    return { severity, code: 'XX000', message: 'internal error in the Strata proxy' };
  }

  /** Runs `then` on a server, or answers the error PostgreSQL's absence deserves. */
  private withServer(then: (server: ServerConnection) => void, extended: boolean): void | Promise<void> {
    const server = this.attach();
    if (!(server instanceof Promise)) return then(server);
    return server.then(then, (error: unknown) => {
      if (this.state === State.closed) return;
      this.write(this.errorFields(this.backendErrorFields(error, 'ERROR'), 'backend'));
      if (extended) this.skipping = true;
      else this.write(wire.readyForQuery(this.txStatus));
    });
  }

  private releaseIfIdle(): void {
    const server = this.server;
    if (!server || !this.transactionMode || this.unsynced || this.engineHolds || server.pending() > 0 || server.status !== 'I') return;
    const readBack = this.settings.readBackBeforeRelease(server, () => {
      this.releaseIfIdle();
      if (this.draining) this.maybeFinishDrain();
    });
    if (readBack) return;
    this.server = null;
    this.pool!.release(server);
  }

  // ---- ServerOwner -------------------------------------------------------------------

  serverParameter(name: string, value: string): void {
    this.params.set(name, value);
    this.settings.reported();
  }

  ready(status: wire.TransactionStatus, startedAt: number): void {
    this.txStatus = status;
    if (this.viewsChanged && status === 'I' && this.deps.refreshCatalog) {
      this.viewsChanged = false;
      this.catalogRefresh = this.deps.refreshCatalog();
    }
    this.context.inTransaction = status !== 'I';
    if (startedAt) this.deps.metrics.latency.observe((performance.now() - startedAt) / 1000);
    this.releaseIfIdle();
    if (this.draining) this.maybeFinishDrain();
  }

  extendedError(): void {
    this.skipping = true;
  }

  serverLost(error: BackendError): void {
    this.server = null;
    if (this.state === State.closed) return;
    this.log.warn({ code: error.sqlState }, 'PostgreSQL connection lost while serving this client');
    this.fatal({ ...(error.fields ?? { code: error.sqlState, message: error.message }), severity: 'FATAL' });
  }

  // ---- ready: one handler per message ------------------------------------------------

  private handleReady(type: number, frame: Buffer): void | Promise<void> {
    // A portal the engine left suspended holds the server: only its own Executes go on;
    // anything else ends it first.
    if (this.engine.holdsServer() && !(type === wire.Frontend.execute && this.engine.isSuspended(wire.decodeExecute(frame).portal))) {
      return this.engine.settle().then(() => this.handleReady(type, frame));
    }
    switch (type) {
      case wire.Frontend.query:
        return this.onQuery(frame);
      case wire.Frontend.parse:
        return this.onParse(frame);
      case wire.Frontend.bind:
        return this.onBind(frame);
      case wire.Frontend.describe:
        return this.onDescribe(frame);
      case wire.Frontend.execute:
        return this.onExecute(frame);
      case wire.Frontend.close:
        return this.onClose(frame);
      case wire.Frontend.sync:
        emptyBody(frame, 'Sync');
        return this.onSync(frame);
      case wire.Frontend.flush:
        emptyBody(frame, 'Flush');
        if (this.server) this.sendToServer(this.server, frame);
        return;
      case wire.Frontend.copyData:
      case wire.Frontend.copyDone:
      case wire.Frontend.copyFail:
        if (this.server) this.sendToServer(this.server, frame);
        return;
      case wire.Frontend.functionCall:
        return this.relay(frame, true);
      case wire.Frontend.terminate:
        return this.close();
      default:
        throw new wire.ProtocolError(wire.ProtocolErrorCode.unexpectedMessage, `invalid frontend message type ${type}`);
    }
  }

  private route(sql: string): Route {
    const route = this.deps.router(sql, this.context);
    if (route.target === 'postgres' && route.catalogChange) this.viewsChanged = true;
    (route.target === 'postgres' ? this.deps.metrics.postgresQueries : this.deps.metrics.engineQueries).inc();
    return route;
  }

  /** Relays the client's own bytes; `sync` when the reply ends with ReadyForQuery. */
  private relay(frame: Buffer, sync: boolean, beforeSend?: (server: ServerConnection) => Buffer | null): void | Promise<void> {
    return this.withServer((server) => {
      const bytes = beforeSend ? beforeSend(server) : frame;
      if (bytes === null) return;
      if (sync) {
        const started = performance.now();
        const timeout = this.deps.config.queryTimeoutMs;
        if (timeout > 0) {
          const timer = setTimeout(() => server.cancel(), timeout);
          server.expectReady(started, false, () => clearTimeout(timer), false, this.unsynced);
        } else server.expectReady(started, false, undefined, false, this.unsynced);
      } else {
        server.expectExtended();
        this.unsynced = true;
      }
      this.sendToServer(server, bytes);
    }, !sync);
  }

  private onQuery(frame: Buffer): void | Promise<void> {
    const sql = wire.decodeQuery(frame);
    if (this.skipping) return;
    this.noteSetRoute(sql);
    this.settings.noteSql(sql);
    // The common case, one statement and no ';': no splitting, no arrays.
    if (sql.indexOf(';') < 0 && !(this.transactionMode && DISCARDS_STATEMENTS.test(sql))) {
      if (!HAS_CODE.test(sql) || this.route(sql).target === 'postgres') return this.relay(frame, true);
      return this.runMixedQuery([sql], [{ target: 'engine' }]);
    }
    const statements = splitStatements(sql);
    const routes = statements.map((s) => this.route(s));
    if (routes.every((r) => r.target === 'postgres')) {
      const discards = this.transactionMode && statements.some((s) => DISCARDS_STATEMENTS.test(s));
      return this.relay(frame, true, (server) => {
        if (discards) this.forgetServerStatements(server);
        return frame;
      });
    }
    return this.runMixedQuery(statements, routes);
  }

  /** A simple query with engine statements: each statement in turn, stopping at the first error. */
  private async runMixedQuery(statements: string[], routes: Route[]): Promise<void> {
    for (let i = 0; i < statements.length; i++) {
      if (routes[i].target === 'engine') {
        if (this.server) await this.server.whenDrained();
        const ok = await this.engine.simpleQuery(statements[i]);
        if (!ok) break;
        continue;
      }
      let server: ServerConnection;
      try {
        server = await this.attach();
      } catch (error) {
        this.write(this.errorFields(this.backendErrorFields(error, 'ERROR'), 'backend'));
        break;
      }
      const error = await new Promise<ErrorFields | null>((resolve) => {
        server.expectReady(performance.now(), false, resolve, true);
        this.sendToServer(server, wire.encodeQuery(statements[i]));
      });
      this.txStatus = server.status;
      this.context.inTransaction = server.status !== 'I';
      if (error) break;
    }
    this.localReply(wire.readyForQuery(this.server?.status ?? this.txStatus));
    this.releaseIfIdle();
  }

  private noteSetRoute(sql: string): void {
    const c = sql.charCodeAt(0) | 0x20;
    if (c !== 0x73 /* s */ && c !== 0x20 && c !== 0x2a) return;
    const match = SET_ROUTE.exec(sql);
    if (match) this.params.set('strata.route', match[1].toLowerCase());
  }

  private forgetServerStatements(server: ServerConnection): void {
    server.prepared.clear();
    server.unnamed = null;
  }

  private onParse(frame: Buffer): void | Promise<void> {
    const parse = wire.decodeParse(frame);
    if (this.skipping) return;
    const statement: Statement = {
      sql: parse.sql,
      paramTypes: parse.paramTypes,
      route: this.route(parse.sql),
      identity: `${parse.paramTypes.join(',')}\0${parse.sql}`,
      frame,
    };
    this.settings.noteParse(statement, parse.sql);
    if (parse.name === '') this.unnamed = statement;
    else {
      if (this.statements.has(parse.name)) {
        this.write(this.errorFields({ severity: 'ERROR', code: '42P05', message: `prepared statement "${parse.name}" already exists` }, 'proxy'));
        this.skipping = true;
        return;
      }
      this.statements.set(parse.name, statement);
    }
    if (statement.route.target === 'engine') {
      this.localReply(wire.PARSE_COMPLETE);
      return;
    }
    if (!this.transactionMode) return this.relay(frame, false);
    if (parse.name === '') {
      return this.relay(frame, false, (server) => {
        server.unnamed = statement.identity;
        return frame;
      });
    }
    statement.backendName = this.deps.statementNames.nameFor(statement.identity);
    return this.withServer((server) => {
      this.unsynced = true;
      if (server.prepared.has(statement.backendName!)) {
        server.local(wire.PARSE_COMPLETE);
        return;
      }
      this.prepareOn(server, statement, false);
    }, true);
  }

  /** Prepares a client statement on the server under its backend name. */
  private prepareOn(server: ServerConnection, statement: Statement, silent: boolean): void {
    const name = statement.backendName!;
    server.prepared.add(name);
    server.expectExtended(silent, (error) => {
      if (error) server.prepared.delete(name);
    });
    this.sendToServer(server, wire.encodeParse({ name, sql: statement.sql, paramTypes: statement.paramTypes }));
  }

  /** Under transaction pooling the server may not hold the statement yet: prepare it first. */
  private ensureStatement(server: ServerConnection, statement: Statement | undefined, named: boolean): void {
    if (!this.transactionMode || !statement) return;
    if (named) {
      if (!server.prepared.has(statement.backendName!)) this.prepareOn(server, statement, true);
    } else if (server.unnamed !== statement.identity) {
      server.unnamed = statement.identity;
      server.expectExtended(true);
      this.sendToServer(server, statement.frame);
    }
  }

  private statementNamed(name: string): Statement | undefined {
    return name === '' ? (this.unnamed ?? undefined) : this.statements.get(name);
  }

  private onBind(frame: Buffer): void | Promise<void> {
    wire.validateBind(frame);
    if (this.skipping) return;
    const span = wire.bindStatementSpan(frame);
    const name = frame.toString('utf8', span.statementStart, span.statementEnd);
    const statement = this.statementNamed(name);
    this.settings.noteBind(statement);
    if (statement?.route.target === 'engine' || this.engine.hasPortals()) {
      const portal = frame.toString('utf8', 5, span.portalEnd);
      if (statement?.route.target === 'engine') return this.engine.bind(statement, wire.decodeBind(frame));
      this.engine.dropPortal(portal);
    }
    return this.relay(frame, false, (server) => {
      this.ensureStatement(server, statement, name !== '');
      return this.transactionMode && statement && name !== '' ? wire.renameBindStatement(frame, statement.backendName!) : frame;
    });
  }

  private onDescribe(frame: Buffer): void | Promise<void> {
    const target = wire.decodeDescribe(frame);
    if (this.skipping) return;
    if (target.kind === 'P') {
      if (this.engine.hasPortal(target.name)) return this.engine.describePortal(target.name);
      return this.relay(frame, false);
    }
    const statement = this.statementNamed(target.name);
    if (statement?.route.target === 'engine') return this.engine.describeStatement(statement);
    return this.relay(frame, false, (server) => {
      this.ensureStatement(server, statement, target.name !== '');
      return this.transactionMode && statement && target.name !== '' ? wire.encodeDescribe({ kind: 'S', name: statement.backendName! }) : frame;
    });
  }

  private onExecute(frame: Buffer): void | Promise<void> {
    wire.validateExecute(frame);
    if (this.skipping) return;
    if (this.engine.hasPortals()) {
      const execute = wire.decodeExecute(frame);
      if (this.engine.hasPortal(execute.portal)) {
        const server = this.server;
        // Rows stream straight to the client, so every earlier reply goes first; if one of
        // them failed, PostgreSQL's rule applies: the rest of the batch is skipped.
        return (server ? server.whenDrained() : Promise.resolve()).then(() => (this.skipping ? undefined : this.engine.execute(execute)));
      }
    }
    return this.relay(frame, false);
  }

  private onClose(frame: Buffer): void | Promise<void> {
    const target = wire.decodeClose(frame);
    if (this.skipping) return;
    if (target.kind === 'S') {
      const statement = this.statementNamed(target.name);
      if (target.name !== '') this.statements.delete(target.name);
      // Backend statements are shared between clients under transaction pooling: they stay.
      if (statement?.route.target === 'engine' || this.transactionMode || !this.server) {
        this.localReply(wire.CLOSE_COMPLETE);
        return;
      }
      return this.relay(frame, false);
    }
    if (this.engine.hasPortal(target.name)) {
      this.engine.dropPortal(target.name);
      this.localReply(wire.CLOSE_COMPLETE);
      return;
    }
    if (!this.server) {
      this.localReply(wire.CLOSE_COMPLETE);
      return;
    }
    return this.relay(frame, false);
  }

  private onSync(frame: Buffer): void {
    this.skipping = false;
    const server = this.server;
    if (!server) {
      this.write(wire.readyForQuery(this.txStatus));
      return;
    }
    this.unsynced = false;
    const timeout = this.deps.config.queryTimeoutMs;
    if (timeout > 0) {
      const timer = setTimeout(() => server.cancel(), timeout);
      server.expectReady(performance.now(), false, () => clearTimeout(timer));
    } else server.expectReady(performance.now());
    this.sendToServer(server, frame);
  }

  /** Engine errors in an extended batch: drop the rest of it, as PostgreSQL does. */
  skipUntilSync(): void {
    this.skipping = true;
  }

  whenServerDrained(): Promise<void> {
    return this.server ? this.server.whenDrained() : Promise.resolve();
  }

  /** For diagnostics: where this session is, without anything the client sent. */
  diagnostics(): Record<string, unknown> {
    return {
      id: this.id,
      state: this.state,
      busy: this.busy,
      skipping: this.skipping,
      unsynced: this.unsynced,
      inbox: (this.inbox.length - this.inboxAt) / 2,
      waitingServerDrain: this.waitingServerDrain,
      server: this.server ? { id: this.server.id, pending: this.server.pending(), status: this.server.status, paused: this.server.socket.isPaused() } : null,
      paused: this.socket.isPaused(),
    };
  }

  // ---- cancel, errors, shutdown ------------------------------------------------------

  cancel(): void {
    if (this.server && this.server.pending() > 0) this.server.cancel();
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
    if (this.state === State.ready && (!this.server || (this.server.pending() === 0 && this.server.status === 'I' && !this.busy))) {
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
    const server = this.server;
    this.server = null;
    if (server && this.pool) {
      server.owner = null;
      if (server.broken || server.pending() > 0 || server.status !== 'I' || this.unsynced) this.pool.destroy(server);
      else if (this.transactionMode) this.pool.release(server);
      else {
        // Session pooling: the next client must not inherit this one's session state.
        const pool = this.pool;
        server.runSilent('DISCARD ALL').then((error) => {
          this.forgetServerStatements(server);
          server.sessionSettings.clear();
          if (error) pool.destroy(server);
          else pool.release(server);
        });
      }
    }
    this.log.info('client disconnected');
  }
}

function emptyBody(frame: Buffer, what: string): void {
  if (frame.length !== 5) throw new wire.ProtocolError(wire.ProtocolErrorCode.invalidValue, `${what} must have an empty body`);
}

/** `options` startup parameter: `-c name=value` / `--name=value` pairs, backslash escapes spaces. */
export function parseOptions(options: string): Array<[string, string]> {
  const words = options.match(/(?:\\.|\S)+/g) ?? [];
  const out: Array<[string, string]> = [];
  for (let i = 0; i < words.length; i++) {
    let word = words[i].replace(/\\(.)/g, '$1');
    if (word === '-c' && i + 1 < words.length) word = words[++i].replace(/\\(.)/g, '$1');
    else if (word.startsWith('--')) word = word.slice(2);
    else if (word.startsWith('-c')) word = word.slice(2);
    const eq = word.indexOf('=');
    if (eq > 0) out.push([word.slice(0, eq).replace(/-/g, '_'), word.slice(eq + 1)]);
  }
  return out;
}
