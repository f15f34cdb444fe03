import type { Logger } from 'pino';
import type { ServerConnection } from '../backend/server-connection';
import type { StatementNames } from '../backend/statement-names';
import type { ProxyConfig } from '../config';
import type { ResultField, Route, Router, SessionContext } from '../engine/contract';
import type { ProxyMetrics } from '../metrics';
import * as wire from '../wire';
import type { ErrorFields } from '../wire/error-response';
import type { EngineRunner } from './engine-runner';
import { backendErrorFields, forgetStatements, type ServerLink } from './server-link';
import type { SessionSettings } from './session-settings';
import { splitStatements } from './split-statements';
import { PreparedStatementError, SqlPreparedStatements } from './sql-prepared';

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

/** What the dispatch needs from its session. */
export interface DispatchHost {
  readonly closed: boolean;
  /** The router's settings (strata.route among them). */
  readonly params: Map<string, string>;
  readonly context: SessionContext;
  readonly txStatus: wire.TransactionStatus;
  /** The transaction status PostgreSQL last reported. */
  noteStatus(status: wire.TransactionStatus): void;
  write(bytes: Buffer): boolean;
  localReply(bytes: Buffer): void;
  errorFields(fields: ErrorFields, source: string): Buffer;
  close(): void;
  /** A statement of a string that changed views ran: resolves once the views are re-read as the next will see them. */
  settleCatalog(): Promise<void>;
}

export interface DispatchDeps {
  config: ProxyConfig;
  router: Router;
  metrics: ProxyMetrics;
  statementNames: StatementNames;
}

const HAS_CODE = /[^\s]/;
const DISCARDS_STATEMENTS = /^\s*(discard\s+all|deallocate\s+(prepare\s+)?all)\b/i;
const SET_ROUTE = /^\s*set\s+(?:session\s+)?strata\.route\s*(?:=|to)\s*'?(auto|hot|cold)'?\s*;?\s*$/i;

/**
 * A logged-in client's messages, one handler each (simple and extended protocol):
 * statements the router keeps on PostgreSQL are relayed as the client's own bytes
 * (renamed under transaction pooling, where backend statements are shared); statements
 * it gives to the engine are answered by the EngineRunner; replies reach the client in
 * the order it asked, through the server's reply queue.
 */
export class MessageDispatch {
  /** After an error in an extended-protocol batch, messages up to Sync are dropped. */
  skipping = false;
  /** View DDL was relayed: re-read the catalog when the client's transaction ends. */
  viewsChanged = false;
  /**
   * Inside a block that changed views: a router over the views as the block sees them
   * (its own uncommitted DDL included), re-read after each of its statements; null
   * otherwise (client-session.ts).
   */
  blockRouter: Router | null = null;
  private readonly statements = new Map<string, Statement>();
  /** SQL-level prepared statements on tiered tables, kept by the proxy (sql-prepared.ts). */
  private readonly sqlPrepared = new SqlPreparedStatements();
  private unnamed: Statement | null = null;
  private readonly transactionMode: boolean;

  constructor(
    private readonly host: DispatchHost,
    private readonly link: ServerLink,
    private readonly engine: EngineRunner,
    private readonly settings: SessionSettings,
    private readonly deps: DispatchDeps,
    private readonly log: Logger,
  ) {
    this.transactionMode = deps.config.poolMode === 'transaction';
  }

  handle(type: number, frame: Buffer): void | Promise<void> {
    // A portal the engine left suspended holds the server: only its own Executes go on;
    // anything else ends it first.
    if (this.engine.holdsServer() && !(type === wire.Frontend.execute && this.engine.isSuspended(wire.decodeExecute(frame).portal))) {
      return this.engine.settle().then(() => this.handle(type, frame));
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
        if (this.link.server) this.link.send(this.link.server, frame);
        return;
      case wire.Frontend.copyData:
      case wire.Frontend.copyDone:
      case wire.Frontend.copyFail:
        if (this.link.server) this.link.send(this.link.server, frame);
        return;
      case wire.Frontend.functionCall:
        return this.relay(frame, true);
      case wire.Frontend.terminate:
        return this.host.close();
      default:
        throw new wire.ProtocolError(wire.ProtocolErrorCode.unexpectedMessage, `invalid frontend message type ${type}`);
    }
  }

  private route(sql: string): Route {
    const route = (this.blockRouter ?? this.deps.router)(sql, this.host.context);
    if (route.target === 'postgres' && route.catalogChange) this.viewsChanged = true;
    (route.target === 'postgres' ? this.deps.metrics.postgresQueries : this.deps.metrics.engineQueries).inc();
    return route;
  }

  /** Runs `then` on a server, or answers the error PostgreSQL's absence deserves. */
  private withServer(then: (server: ServerConnection) => void, extended: boolean): void | Promise<void> {
    const server = this.link.attach();
    if (!(server instanceof Promise)) return then(server);
    return server.then(then, (error: unknown) => {
      if (this.host.closed) return;
      this.host.write(this.host.errorFields(backendErrorFields(error, 'ERROR', this.log), 'backend'));
      if (extended) this.skipping = true;
      else this.host.write(wire.readyForQuery(this.host.txStatus));
    });
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
          server.expectReady(started, false, () => clearTimeout(timer), false, this.link.unsynced);
        } else server.expectReady(started, false, undefined, false, this.link.unsynced);
      } else {
        server.expectExtended();
        this.link.unsynced = true;
      }
      this.link.send(server, bytes);
    }, !sync);
  }

  // ---- simple protocol ---------------------------------------------------------------

  private onQuery(frame: Buffer): void | Promise<void> {
    const sql = wire.decodeQuery(frame);
    if (this.skipping) return;
    this.noteSetRoute(sql);
    this.settings.noteSql(sql);
    if (this.sqlPrepared.size > 0) {
      const answer = this.sqlPreparedAnswer(() => this.sqlPrepared.intercept(sql));
      if (answer !== null) return answer === 'answered' ? undefined : answer;
    }
    // The common case, one statement and no ';': no splitting, no arrays.
    if (sql.indexOf(';') < 0 && !(this.transactionMode && DISCARDS_STATEMENTS.test(sql))) {
      const route = HAS_CODE.test(sql) ? this.route(sql) : undefined;
      if (!route || route.target === 'postgres') return this.relay(frame, true);
      const prepared = this.sqlPreparedAnswer(() => {
        const tag = this.sqlPrepared.prepare(route.plan);
        return tag ? { tag } : undefined;
      });
      if (prepared !== null) return prepared === 'answered' ? undefined : prepared;
      return this.runMixedQuery([sql], [route]);
    }
    const statements = splitStatements(sql);
    const routes = statements.map((s) => this.route(s));
    // View DDL before the string's last statement: those after it are routed again once it ran.
    const changesViews = routes.slice(0, -1).some((r) => r.target === 'postgres' && r.catalogChange);
    if (routes.every((r) => r.target === 'postgres') && !changesViews) {
      const discards = this.transactionMode && statements.some((s) => DISCARDS_STATEMENTS.test(s));
      return this.relay(frame, true, (server) => {
        if (discards) forgetStatements(server);
        return frame;
      });
    }
    return this.runMixedQuery(statements, routes);
  }

  /**
   * SQL-level PREPARE / EXECUTE / DEALLOCATE the session keeps (sql-prepared.ts): a
   * command tag or error answered here, or the statement EXECUTE stands for, run by the
   * engine. null: not one of those.
   */
  private sqlPreparedAnswer(decide: () => { run: string } | { tag: string } | undefined): Promise<void> | 'answered' | null {
    let answer: { run: string } | { tag: string } | undefined;
    try {
      answer = decide();
    } catch (error) {
      if (!(error instanceof PreparedStatementError)) throw error;
      const bytes = this.host.errorFields({ severity: 'ERROR', code: error.sqlState, message: error.message, detail: error.detail }, 'proxy');
      this.host.localReply(Buffer.concat([bytes, wire.readyForQuery(this.link.server?.status ?? this.host.txStatus)]));
      return 'answered';
    }
    if (!answer) return null;
    if ('tag' in answer) {
      this.host.localReply(Buffer.concat([wire.encodeCommandComplete(answer.tag), wire.readyForQuery(this.link.server?.status ?? this.host.txStatus)]));
      return 'answered';
    }
    const route = this.route(answer.run);
    return this.runMixedQuery([answer.run], [route]);
  }

  /** A simple query with engine statements: each statement in turn, stopping at the first error. */
  private async runMixedQuery(statements: string[], routes: Route[]): Promise<void> {
    let viewsChanged = false;
    for (let i = 0; i < statements.length; i++) {
      // Once view DDL ran, every later statement is routed on the views the one before it
      // left (a block's own, committed, or rolled back).
      if (viewsChanged) await this.host.settleCatalog();
      const route: Route = viewsChanged ? this.route(statements[i]) : routes[i];
      viewsChanged ||= route.target === 'postgres' && route.catalogChange === true;
      if (route.target === 'engine') {
        await this.link.whenDrained();
        const ok = await this.engine.simpleQuery(statements[i], route.plan);
        if (!ok) break;
        continue;
      }
      let server: ServerConnection;
      try {
        server = await this.link.attach();
      } catch (error) {
        this.host.write(this.host.errorFields(backendErrorFields(error, 'ERROR', this.log), 'backend'));
        break;
      }
      const error = await new Promise<ErrorFields | null>((resolve) => {
        server.expectReady(performance.now(), false, resolve, true);
        this.link.send(server, wire.encodeQuery(statements[i]));
      });
      this.host.noteStatus(server.status);
      if (error) break;
    }
    this.host.localReply(wire.readyForQuery(this.link.server?.status ?? this.host.txStatus));
    this.link.releaseIfIdle();
  }

  private noteSetRoute(sql: string): void {
    const c = sql.charCodeAt(0) | 0x20;
    if (c !== 0x73 /* s */ && c !== 0x20 && c !== 0x2a) return;
    const match = SET_ROUTE.exec(sql);
    if (match) this.host.params.set('strata.route', match[1].toLowerCase());
  }

  // ---- extended protocol -------------------------------------------------------------

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
        this.host.write(this.host.errorFields({ severity: 'ERROR', code: '42P05', message: `prepared statement "${parse.name}" already exists` }, 'proxy'));
        this.skipping = true;
        return;
      }
      this.statements.set(parse.name, statement);
    }
    if (statement.route.target === 'engine') {
      this.host.localReply(wire.PARSE_COMPLETE);
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
      this.link.unsynced = true;
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
    this.link.send(server, wire.encodeParse({ name, sql: statement.sql, paramTypes: statement.paramTypes }));
  }

  /** Under transaction pooling the server may not hold the statement yet: prepare it first. */
  private ensureStatement(server: ServerConnection, statement: Statement | undefined, named: boolean): void {
    if (!this.transactionMode || !statement) return;
    if (named) {
      if (!server.prepared.has(statement.backendName!)) this.prepareOn(server, statement, true);
    } else if (server.unnamed !== statement.identity) {
      server.unnamed = statement.identity;
      server.expectExtended(true);
      this.link.send(server, statement.frame);
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
        // Rows stream straight to the client, so every earlier reply goes first; if one of
        // them failed, PostgreSQL's rule applies: the rest of the batch is skipped.
        return this.link.whenDrained().then(() => (this.skipping ? undefined : this.engine.execute(execute)));
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
      if (statement?.route.target === 'engine' || this.transactionMode || !this.link.server) {
        this.host.localReply(wire.CLOSE_COMPLETE);
        return;
      }
      return this.relay(frame, false);
    }
    if (this.engine.hasPortal(target.name)) {
      this.engine.dropPortal(target.name);
      this.host.localReply(wire.CLOSE_COMPLETE);
      return;
    }
    if (!this.link.server) {
      this.host.localReply(wire.CLOSE_COMPLETE);
      return;
    }
    return this.relay(frame, false);
  }

  private onSync(frame: Buffer): void {
    this.skipping = false;
    const server = this.link.server;
    if (!server) {
      this.host.write(wire.readyForQuery(this.host.txStatus));
      return;
    }
    this.link.unsynced = false;
    const timeout = this.deps.config.queryTimeoutMs;
    if (timeout > 0) {
      const timer = setTimeout(() => server.cancel(), timeout);
      server.expectReady(performance.now(), false, () => clearTimeout(timer));
    } else server.expectReady(performance.now());
    this.link.send(server, frame);
  }
}

function emptyBody(frame: Buffer, what: string): void {
  if (frame.length !== 5) throw new wire.ProtocolError(wire.ProtocolErrorCode.invalidValue, `${what} must have an empty body`);
}
