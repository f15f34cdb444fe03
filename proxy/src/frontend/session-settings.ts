import type { Logger } from 'pino';
import type { ServerConnection } from '../backend/server-connection';
import type { ErrorFields } from '../wire/error-response';
import { resetStatements, sessionSettingsQuery, setConfigQuery } from './set-statements';

/**
 * A statement that may change a session setting: SET, RESET, DISCARD (also SET LOCAL,
 * SET ROLE, SET SESSION AUTHORIZATION…) or a DO block (PL/pgSQL may SET) at the start of
 * a statement, or a set_config() call anywhere. False positives only cost one read-back;
 * ordinary statements are rejected by their first character and substring searches.
 */
const LEADING_SETTING_COMMAND = /^(?:\s|--[^\n]*|\/\*[\s\S]*?\*\/)*(?:set|reset|discard|do)\b/i;
const SETTING_COMMAND = /(?:^|;)(?:\s|--[^\n]*|\/\*[\s\S]*?\*\/)*(?:set|reset|discard|do)\b/i;

export function mayChangeSettings(sql: string): boolean {
  const c = sql.charCodeAt(0) | 0x20;
  // s(et) r(eset) d(iscard|o), or whitespace, a comment or '(' first.
  if ((c === 0x73 || c === 0x72 || c === 0x64 || c <= 0x2f) && LEADING_SETTING_COMMAND.test(sql)) return true;
  if (sql.indexOf(';') >= 0 && SETTING_COMMAND.test(sql)) return true;
  return sql.indexOf('set_config') >= 0 || sql.indexOf('SET_CONFIG') >= 0;
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`;
const IDENT_PART = new RegExp(IDENT, 'g');
const SET_NAME = new RegExp(String.raw`\b(?:set|reset)\s+(?:(?:session|local)\s+)?(${IDENT}(?:\s*\.\s*${IDENT})+)`, 'gi');
const SET_CONFIG_NAME = /set_config\s*\(\s*'((?:[^']|'')+)'/gi;

/**
 * Custom (dotted) setting names a statement may set: pg_settings does not list them, so
 * they are read back by name. Lower-cased, as PostgreSQL matches setting names.
 */
export function customSettingNames(sql: string): string[] {
  const names: string[] = [];
  for (const match of sql.matchAll(SET_NAME)) {
    const parts = match[1].match(IDENT_PART) ?? [];
    names.push(parts.map((p) => (p.startsWith('"') ? p.slice(1, -1).replace(/""/g, '"') : p)).join('.').toLowerCase());
  }
  for (const match of sql.matchAll(SET_CONFIG_NAME)) {
    const name = match[1].replace(/''/g, "'").toLowerCase();
    if (name.includes('.')) names.push(name);
  }
  return names;
}

/** PostgreSQL's spelling of the settings it reports whose names are not lower case. */
const REPORTED_SPELLING: Readonly<Record<string, string>> = { timezone: 'TimeZone', datestyle: 'DateStyle', intervalstyle: 'IntervalStyle' };
/** Applied first: a new session authorization resets the role, and the role decides what else may be set. */
const FIRST = ['session_authorization', 'role'];

function byPriority(a: string, b: string): number {
  const ia = FIRST.indexOf(a);
  const ib = FIRST.indexOf(b);
  return (ia < 0 ? FIRST.length : ia) - (ib < 0 ? FIRST.length : ib);
}

/** The value a server has for a setting, when the proxy knows it. */
function valueOn(server: ServerConnection, name: string): string | undefined {
  return server.sessionSettings.get(name) ?? server.params.get(REPORTED_SPELLING[name] ?? name);
}

/**
 * One client's session settings under transaction pooling. What the client wants is its
 * login-time settings overlaid with every setting its own session changed; a server lent
 * to it is brought to exactly that (settings another client left on it are RESET) in one
 * silent exchange before the client's statement.
 *
 * The client's own changes are not worked out from its SETs: when a transaction in which
 * it may have changed a setting ends, PostgreSQL itself is asked, before the server goes
 * back to the pool, which settings the session now holds. That is exact for rolled-back
 * SETs, SET LOCAL, savepoints, RESET, RESET ALL and DISCARD ALL. A session setting
 * changed where the proxy cannot see it (a function that calls set_config) is not tracked.
 */
export class SessionSettings {
  /** Login-time settings (startup parameters and `options`), by lower-case name. */
  private startup: Map<string, string> | null = null;
  /** Lower-case name → value: what every server lent to this client must carry. */
  private readonly wanted = new Map<string, string>();
  /** A statement sent since the last read-back may have changed a setting. */
  private dirty = false;
  /** Custom setting names this client has used: read back by name. */
  private readonly custom = new Set<string>();
  /** Prepared statements that may change a setting each time they run. */
  private readonly changing = new WeakSet<object>();

  constructor(
    private readonly login: ReadonlyMap<string, string>,
    private readonly tracking: boolean,
    private readonly log: Logger,
  ) {}

  /** The login-time settings are complete once authentication starts; read them then. */
  private want(): Map<string, string> {
    if (this.startup === null) {
      this.startup = new Map();
      for (const [name, value] of this.login) {
        const key = name.toLowerCase();
        this.startup.set(key, value);
        this.wanted.set(key, value);
        if (key.includes('.')) this.custom.add(key);
      }
    }
    return this.wanted;
  }

  /** A simple query or Parse about to be sent. */
  noteSql(sql: string): void {
    if (this.tracking && mayChangeSettings(sql)) this.noteChange(sql);
  }

  noteParse(statement: object, sql: string): void {
    if (!this.tracking || !mayChangeSettings(sql)) return;
    this.changing.add(statement);
    this.noteChange(sql);
  }

  /** A Bind of a statement noted at Parse: it runs again, maybe in a later transaction. */
  noteBind(statement: object | undefined): void {
    if (statement && this.changing.has(statement)) this.dirty = true;
  }

  /** PostgreSQL reported a setting change (ParameterStatus) in the client's statements. */
  reported(): void {
    if (this.tracking) this.dirty = true;
  }

  private noteChange(sql: string): void {
    this.dirty = true;
    for (const name of customSettingNames(sql)) this.custom.add(name);
  }

  /** True when the server already carries exactly this client's settings. */
  matches(server: ServerConnection): boolean {
    const wanted = this.want();
    for (const name of server.sessionSettings.keys()) if (!wanted.has(name)) return false;
    for (const [name, value] of wanted) if (valueOn(server, name) !== value) return false;
    return true;
  }

  /**
   * Brings the server to this client's settings: RESETs what another client left and
   * SETs what this one wants, pipelined. Resolves with PostgreSQL's error, if any.
   */
  async apply(server: ServerConnection): Promise<ErrorFields | null> {
    const wanted = this.want();
    const resets = [...server.sessionSettings.keys()].filter((name) => !wanted.has(name)).sort(byPriority);
    const sets = [...wanted].filter(([name, value]) => valueOn(server, name) !== value).sort((a, b) => byPriority(a[0], b[0]));
    if (resets.length === 0 && sets.length === 0) return null;
    // Separate queries, so a value PostgreSQL now refuses cannot keep the RESETs from happening.
    const resetting = resets.length > 0 ? server.runSilent(resetStatements(resets)) : null;
    const setting = sets.length > 0 ? server.runSilent(setConfigQuery(sets)) : null;
    const resetError = resetting && (await resetting);
    if (resetError) {
      // The server may still carry another client's settings: never lend it again.
      server.broken = true;
    } else for (const name of resets) server.sessionSettings.delete(name);
    const setError = setting && (await setting);
    if (!setError) {
      for (const [name, value] of sets) {
        // PostgreSQL may report a normalised value (DateStyle 'ISO' → 'ISO, MDY'); keep its.
        const held = server.params.get(REPORTED_SPELLING[name] ?? name) ?? value;
        server.sessionSettings.set(name, held);
        wanted.set(name, held);
        if (this.startup!.get(name) === value) this.startup!.set(name, held);
      }
    }
    return resetError ?? setError;
  }

  /**
   * Before the server goes back to the pool (no transaction open, nothing owed): when the
   * client may have changed a setting, reads what the session now holds and calls `then`
   * afterwards. False when the server can be released at once.
   */
  readBackBeforeRelease(server: ServerConnection, then: () => void): boolean {
    if (!this.dirty) return false;
    this.dirty = false;
    const wanted = this.want();
    server.querySilent(sessionSettingsQuery(this.custom, server.target.user)).then(({ error, rows }) => {
      if (error) {
        this.log.warn({ code: error.code }, 'could not read the session settings back from PostgreSQL; the server will not be reused');
        server.broken = true;
      } else {
        server.sessionSettings.clear();
        for (const [name, value] of rows) if (name !== null && value !== null) server.sessionSettings.set(name.toLowerCase(), value);
        wanted.clear();
        for (const [name, value] of this.startup!) wanted.set(name, value);
        for (const [name, value] of server.sessionSettings) wanted.set(name, value);
      }
      then();
    });
    return true;
  }
}
