import type { Logger } from 'pino';
import type { ScramKeys } from '../../auth/scram-sha-256';
import type { ProxyConfig } from '../../config';
import type { ErrorFields } from '../../wire/error-response';
import { Md5Login } from './md5-login';
import type { VerifierSource } from './postgres-verifiers';
import { ScramLogin } from './scram-sha-256-login';
import type { UserStore } from './user-store';

/** What one password message from the client led to. */
export type LoginStep =
  /** The exchange goes on: send `reply` and wait for the next password message. */
  | { next: 'continue'; reply: Buffer }
  /**
   * The password is right: send `reply` (if any), then AuthenticationOk. `delegated` is
   * set when PostgreSQL vouched for the user (delegated auth): the session is that role.
   */
  | { next: 'accepted'; reply: Buffer | null; delegated: ScramKeys | null }
  /** Wrong password, unknown user, bad exchange: 28P01, with the reason only in the log. */
  | { next: 'refused'; reason: string }
  /** The password could not be checked at all (e.g. the auth query failed). */
  | { next: 'fatal'; fields: ErrorFields };

/**
 * One authentication method's server side, as a strategy the session drives (after
 * pg-gateway's src/auth/): `request` opens the exchange, then each password-type
 * message ('p': PasswordMessage, SASLInitialResponse, SASLResponse) is one step.
 */
export interface LoginMethod {
  /** The Authentication message that asks the client for its password. */
  readonly request: Buffer;
  step(frame: Buffer): LoginStep | Promise<LoginStep>;
}

export interface LoginDeps {
  method: ProxyConfig['auth']['method'];
  users: UserStore;
  /** Delegated auth (STRATA_PROXY_AUTH_QUERY): users not configured are looked up here. */
  verifiers?: VerifierSource | null;
  log: Logger;
}

export function loginMethodFor(user: string, deps: LoginDeps): LoginMethod {
  return deps.method === 'md5' ? new Md5Login(user, deps.users) : new ScramLogin(user, deps.users, deps.verifiers ?? null, deps.log);
}
