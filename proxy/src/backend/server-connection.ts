import type { Socket } from 'node:net';
import type { BackendTls } from '../config';
import { openTransport } from './backend-transport';
import { ScramClient, type ScramKeys } from '../auth/scram-sha-256';
import { md5Response } from '../auth/md5';
import * as wire from '../wire';
import { FrameScanner, ScanFlag } from '../wire/frame-scanner';
import type { ErrorFields } from '../wire/error-response';
import { BackendError } from './backend-errors';
import { HeldWrites } from './held-writes';
import { SessionChannel, type ChannelListener } from './session-channel';

export interface ServerTarget {
  host: string;
  port: number;
  user: string;
  password?: string;
  /** A delegated user's SCRAM keys, in place of a password (SCRAM only). */
  scramKeys?: ScramKeys;
  database: string;
  connectTimeoutMs: number;
  /** TLS to PostgreSQL (sslmode); none when absent. */
  tls?: BackendTls;
}

/** The client session a server is lent to; receives the server's replies in order. */
export interface ServerOwner {
  /** Relayed bytes; false means the client is not keeping up (the server pauses). */
  write(bytes: Buffer): boolean;
  serverParameter(name: string, value: string): void;
  ready(status: wire.TransactionStatus, startedAt: number): void;
  /** An extended-protocol error with no Sync queued yet: drop messages until Sync. */
  extendedError(): void;
  serverLost(error: BackendError): void;
  /** Replies of one server read are written in one go (writev), not one syscall per message. */
  cork(): void;
  uncork(): void;
}

const REMOTE_EXT = 0;
const REMOTE_SYNC = 1;
const LOCAL = 2;

/**
 * One reply the client is owed, in order. Remote entries end at a server message
 * (ParseComplete…CommandComplete for extended messages, ReadyForQuery for Sync/Query);
 * local ones are bytes the proxy answers itself (e.g. ParseComplete for a statement this
 * server already has) and go out once every earlier reply has.
 */
interface Entry {
  kind: typeof REMOTE_EXT | typeof REMOTE_SYNC | typeof LOCAL;
  silent: boolean;
  /** Relay the replies but not the ReadyForQuery (one statement of a split simple query). */
  hideReady?: boolean;
  /**
   * A Query sent inside an unsynced extended batch: if that batch fails, PostgreSQL
   * ignores it (everything up to Sync is discarded), so its reply must not be awaited.
   */
  droppable?: boolean;
  bytes?: Buffer;
  done?: (error: ErrorFields | null) => void;
  error?: ErrorFields | null;
  /** A silent query's result rows, captured instead of relayed (querySilent). */
  rows?: Array<Array<string | null>>;
  startedAt: number;
}

let nextServerId = 1;

/**
 * A PostgreSQL connection owned by the proxy. After login, replies are relayed by a
 * FrameScanner: bytes go to the owning client untouched, and only ReadyForQuery,
 * ErrorResponse, ParameterStatus and the ends of extended-protocol replies are looked at.
 */
export class ServerConnection {
  readonly id = nextServerId++;
  readonly params = new Map<string, string>();
  key: wire.CancelRequest = { processId: 0, secretKey: 0 };
  /** Backend-side names of statements prepared on this server (transaction pooling). */
  readonly prepared = new Set<string>();
  /** Identity of the unnamed statement this server holds, if the proxy knows it. */
  unnamed: string | null = null;
  /**
   * Settings this session holds from SET rather than from its login, by lower-case name
   * (kept by frontend/session-settings.ts): what the next client may have to RESET.
   */
  readonly sessionSettings = new Map<string, string>();
  owner: ServerOwner | null = null;
  broken = false;
  status: wire.TransactionStatus = 'I';
  lastUsed = Date.now();
  private readonly entries: Entry[] = [];
  private scanner: FrameScanner;
  private closedError: BackendError | null = null;

  private constructor(
    readonly socket: Socket,
    readonly target: ServerTarget,
  ) {
    this.scanner = new FrameScanner({
      begin: (type) => this.begin(type),
      forward: (bytes) => {
        if (this.owner && !this.owner.write(bytes)) this.socket.pause();
      },
      end: (type, captured) => this.end(type, captured),
    });
  }

  static async connect(target: ServerTarget): Promise<ServerConnection> {
    return ServerConnection.login(await openTransport(target), target);
  }

  /** Startup and authentication on a connected transport, until the first ReadyForQuery. */
  private static login(socket: Socket, target: ServerTarget): Promise<ServerConnection> {
    return new Promise((resolve, reject) => {
      const server = new ServerConnection(socket, target);
      const reader = new wire.FrameReader(1 << 30);
      let scram: ScramClient | null = null;
      let settled = false;
      const fail = (error: BackendError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(() => fail(new BackendError('backend_unavailable', '08006', `PostgreSQL did not answer within ${target.connectTimeoutMs} ms`)), target.connectTimeoutMs);
      const onError = (error: Error) => fail(new BackendError('backend_unavailable', '08006', `lost the connection to PostgreSQL during login (${(error as NodeJS.ErrnoException).code ?? 'error'})`, undefined, { cause: error }));
      const onClose = () => fail(new BackendError('backend_unavailable', '08006', 'PostgreSQL closed the connection during login'));
      socket.once('error', onError);
      socket.once('close', onClose);
      socket.write(wire.encodeStartupMessage({ user: target.user, database: target.database, client_encoding: 'UTF8' }));
      const onData = (chunk: Buffer) => {
        try {
          reader.push(chunk, (type, frame) => {
            if (settled) return;
            switch (type) {
              case wire.Backend.authentication: {
                const auth = wire.decodeAuthentication(frame);
                if (auth.code === wire.AuthCode.ok) return;
                if (auth.code === wire.AuthCode.saslFinal && scram && 'data' in auth) return scram.verify(auth.data.toString());
                if (auth.code === wire.AuthCode.saslContinue && scram && 'data' in auth) return void socket.write(wire.encodeSaslResponse(Buffer.from(scram.final(auth.data.toString()))));
                const secret = target.scramKeys ?? target.password;
                if (secret === undefined) return fail(new BackendError('backend_startup_failed', '28000', 'PostgreSQL asked for a password and none is configured for the proxy'));
                if (auth.code === wire.AuthCode.sasl) {
                  scram = new ScramClient(secret);
                  return void socket.write(wire.encodeSaslInitialResponse({ mechanism: 'SCRAM-SHA-256', data: Buffer.from(scram.first()) }));
                }
                if (typeof secret !== 'string') return fail(new BackendError('backend_startup_failed', '28000', `PostgreSQL asked for a non-SCRAM password for user "${target.user}"; a user whose login is delegated to PostgreSQL needs scram-sha-256 in pg_hba.conf`));
                if (auth.code === wire.AuthCode.cleartext) return void socket.write(wire.encodePasswordMessage(secret));
                if (auth.code === wire.AuthCode.md5 && 'salt' in auth) return void socket.write(wire.encodePasswordMessage(md5Response(target.user, secret, auth.salt)));
                return fail(new BackendError('backend_startup_failed', '28000', `unsupported PostgreSQL authentication request ${auth.code}`));
              }
              case wire.Backend.parameterStatus: {
                const { name, value } = wire.decodeParameterStatus(frame);
                server.params.set(name, value);
                return;
              }
              case wire.Backend.backendKeyData:
                server.key = wire.decodeBackendKeyData(frame);
                return;
              case wire.Backend.errorResponse: {
                const fields = wire.decodeErrorResponse(frame);
                return fail(new BackendError('backend_startup_failed', fields.code, fields.message, fields));
              }
              case wire.Backend.readyForQuery:
                settled = true;
                clearTimeout(timer);
                // Only this login's listeners: a TLS socket has its own internal ones.
                socket.off('error', onError);
                socket.off('close', onClose);
                socket.off('data', onData);
                server.attachSocketHandlers();
                resolve(server);
                return;
              default:
                return;
            }
          });
        } catch (error) {
          fail(new BackendError('backend_startup_failed', '08P01', 'PostgreSQL login failed', undefined, { cause: error }));
        }
      };
      socket.on('data', onData);
    });
  }

  private attachSocketHandlers(): void {
    this.socket.on('data', (chunk: Buffer) => {
      if (this.channel) {
        try {
          this.channel.push(chunk);
        } catch (error) {
          this.closedError = new BackendError('backend_lost', '08006', 'PostgreSQL sent an invalid message', undefined, { cause: error });
          this.socket.destroy();
        }
        return;
      }
      const owner = this.owner;
      owner?.cork();
      try {
        this.scanner.push(chunk);
      } catch (error) {
        this.closedError = new BackendError('backend_lost', '08006', 'PostgreSQL sent an invalid message', undefined, { cause: error });
        this.socket.destroy();
      } finally {
        owner?.uncork();
      }
    });
    this.socket.on('error', (error) => {
      this.closedError ??= new BackendError('backend_lost', '08006', `lost the connection to PostgreSQL (${(error as NodeJS.ErrnoException).code ?? 'error'})`, undefined, { cause: error });
    });
    this.socket.on('close', () => {
      this.broken = true;
      const error = this.closedError ?? new BackendError('backend_lost', '08006', 'lost the connection to PostgreSQL');
      const owner = this.owner;
      this.owner = null;
      this.channel?.lost(error);
      for (const entry of this.entries.splice(0)) entry.done?.(error.fields ?? { severity: 'FATAL', code: error.sqlState, message: error.message });
      for (const resolve of this.drainWaiters.splice(0)) resolve();
      owner?.serverLost(error);
      this.onClose?.(this);
    });
  }

  onClose?: (server: ServerConnection) => void;

  /** The tier engine's conversation, while it has one open: replies go there instead of the relay. */
  private channel: SessionChannel | null = null;

  /**
   * Hands the connection to the tier engine (in the client's session). Call only when no
   * reply is owed (whenDrained); closeChannel() gives it back to the relay.
   */
  openChannel(listener: ChannelListener): SessionChannel {
    if (this.entries.length > 0 || this.channel) throw new Error('server is busy: cannot open an engine channel');
    this.release();
    // One channel per connection, reopened for each use: a portal the engine keeps open
    // inside the client's transaction block reads its next page through the same one.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const server = this;
    this.engineChannel ??= new SessionChannel(
      {
        send: (bytes) => this.socket.write(bytes),
        whenWritable: () => new Promise<void>((resolve) => (this.socket.writableNeedDrain ? this.socket.once('drain', () => resolve()) : resolve())),
        get status() {
          return server.status;
        },
        set status(s) {
          server.status = s;
        },
        get unnamed() {
          return server.unnamed;
        },
        set unnamed(u) {
          server.unnamed = u;
        },
      },
      listener,
    );
    this.channel = this.engineChannel;
    this.channel.reopen(listener);
    if (this.closedError || this.socket.destroyed) this.channel.lost(this.closedError ?? new BackendError('backend_lost', '08006', 'lost the connection to PostgreSQL'));
    return this.channel;
  }

  private engineChannel: SessionChannel | null = null;

  closeChannel(): void {
    this.channel = null;
    this.lastUsed = Date.now();
  }

  /** Replies still owed to the client (the server is busy while any remain). */
  pending(): number {
    return this.entries.length;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (this.socket.isPaused()) this.socket.resume();
  }

  /** Client bytes held back by hold(), sent by release() as one write. */
  private readonly held = new HeldWrites();

  /** Sends client bytes (or holds them, see hold()); false when the socket's buffer is full. */
  send(bytes: Buffer): boolean {
    return this.held.add(bytes) || this.socket.write(bytes);
  }

  /** Holds what is sent until release(), so the messages of one client read (Bind, Execute, Sync…) leave in one write. */
  hold(): void {
    this.held.hold();
  }

  /** Sends what hold() kept; false when the socket's buffer is full. */
  release(): boolean {
    const bytes = this.held.take();
    return bytes === null || this.socket.write(bytes);
  }

  expectExtended(silent = false, done?: (error: ErrorFields | null) => void): void {
    this.entries.push({ kind: REMOTE_EXT, silent, done, startedAt: 0 });
  }

  expectReady(startedAt: number, silent = false, done?: (error: ErrorFields | null) => void, hideReady = false, droppable = false): void {
    this.entries.push({ kind: REMOTE_SYNC, silent, done, startedAt, error: null, hideReady, droppable });
  }

  /** Resolves once no reply is owed (a Flush makes PostgreSQL send what it holds). */
  whenDrained(): Promise<void> {
    if (this.entries.length === 0) return Promise.resolve();
    this.send(wire.FLUSH);
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
    });
  }

  private readonly drainWaiters: Array<() => void> = [];

  private notifyDrained(): void {
    if (this.entries.length || this.drainWaiters.length === 0) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  /** Bytes the proxy answers itself, sent after every reply already owed. */
  local(bytes: Buffer): void {
    if (this.entries.length === 0) this.owner?.write(bytes);
    else this.entries.push({ kind: LOCAL, silent: false, bytes, startedAt: 0 });
  }

  /** Runs a query whose replies the client never sees (parameter sync, reset, health check). */
  runSilent(sql: string): Promise<ErrorFields | null> {
    return new Promise((resolve) => {
      this.expectReady(0, true, resolve);
      this.send(wire.encodeQuery(sql));
    });
  }

  /** runSilent for a query whose rows the proxy reads (text format). */
  querySilent(sql: string): Promise<{ error: ErrorFields | null; rows: Array<Array<string | null>> }> {
    return new Promise((resolve) => {
      const rows: Array<Array<string | null>> = [];
      this.entries.push({ kind: REMOTE_SYNC, silent: true, rows, done: (error) => resolve({ error, rows }), startedAt: 0, error: null });
      this.send(wire.encodeQuery(sql));
    });
  }

  /**
   * Asks PostgreSQL to cancel what this server runs, on a separate connection — over TLS
   * when sslmode asks for it, so the cancel key is not sent in the clear.
   */
  cancel(): void {
    openTransport(this.target).then(
      (socket) => {
        socket.on('error', () => socket.destroy());
        socket.end(wire.encodeCancelRequest(this.key));
      },
      () => undefined, // best effort, as PostgreSQL's own cancel is
    );
  }

  close(): void {
    this.broken = true;
    this.release();
    if (!this.socket.destroyed) this.socket.end(wire.TERMINATE);
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private begin(type: number): number {
    const head = this.entries[0];
    const silent = head === undefined ? this.owner === null : head.silent;
    const forward = silent ? 0 : ScanFlag.forward;
    switch (type) {
      case wire.Backend.readyForQuery:
        return (head?.hideReady ? 0 : forward) | ScanFlag.capture;
      case wire.Backend.errorResponse:
      case wire.Backend.parameterStatus:
        return forward | ScanFlag.capture;
      case wire.Backend.parseComplete:
      case wire.Backend.bindComplete:
      case wire.Backend.closeComplete:
      case wire.Backend.noData:
      case wire.Backend.rowDescription:
      case wire.Backend.commandComplete:
      case wire.Backend.emptyQueryResponse:
      case wire.Backend.portalSuspended:
        return head?.kind === REMOTE_EXT ? forward | ScanFlag.notify : forward;
      case wire.Backend.dataRow:
        return head?.rows ? ScanFlag.capture : forward;
      default:
        return forward;
    }
  }

  private end(type: number, captured: Buffer | null): void {
    if (type === wire.Backend.dataRow) {
      this.entries[0]?.rows?.push(wire.decodeDataRow(captured!).map((value) => (value === null ? null : value.toString('utf8'))));
      return;
    }
    if (type === wire.Backend.readyForQuery) {
      this.status = wire.decodeReadyForQuery(captured!);
      // An extended entry still at the head here means the server skipped it after an
      // error the proxy did not see as extended; its reply will never come.
      while (this.entries.length && this.entries[0].kind !== REMOTE_SYNC) this.dropHead(null);
      const head = this.entries.shift();
      this.lastUsed = Date.now();
      if (head) {
        head.done?.(head.error ?? null);
        if (!head.silent && !head.hideReady) this.owner?.ready(this.status, head.startedAt);
      }
      this.flushLocals();
      return;
    }
    if (type === wire.Backend.errorResponse) {
      const fields = wire.decodeErrorResponse(captured!);
      if (fields.severity === 'FATAL' || fields.severity === 'PANIC') {
        this.broken = true;
        this.closedError = new BackendError('backend_lost', fields.code, fields.message, fields);
      }
      const head = this.entries[0];
      if (head?.kind === REMOTE_SYNC) {
        head.error ??= fields;
      } else if (head?.kind === REMOTE_EXT) {
        this.entries.shift();
        head.done?.(fields);
        // PostgreSQL now discards everything up to the next Sync: so do the owed replies.
        while (this.entries.length && (this.entries[0].kind !== REMOTE_SYNC || this.entries[0].droppable)) this.dropHead(null);
        if (this.entries.length === 0) this.owner?.extendedError();
        this.flushLocals();
      }
      return;
    }
    if (type === wire.Backend.parameterStatus) {
      const { name, value } = wire.decodeParameterStatus(captured!);
      this.params.set(name, value);
      if (!this.entries[0]?.silent) this.owner?.serverParameter(name, value);
      return;
    }
    const head = this.entries.shift();
    head?.done?.(null);
    this.flushLocals();
  }

  private dropHead(error: ErrorFields | null): void {
    this.entries.shift()?.done?.(error);
  }

  private flushLocals(): void {
    while (this.entries.length && this.entries[0].kind === LOCAL) {
      const bytes = this.entries.shift()!.bytes!;
      this.owner?.write(bytes);
    }
    this.notifyDrained();
  }
}
