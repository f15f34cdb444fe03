import type { Logger } from 'pino';
import { ScramServer, type ScramVerifier } from '../../auth/scram-sha-256';
import * as wire from '../../wire';
import type { LoginMethod, LoginStep } from './login-method';
import type { VerifierLookup, VerifierSource } from './postgres-verifiers';
import type { UserStore } from './user-store';

/**
 * SCRAM-SHA-256 (AuthenticationSASL): SASLInitialResponse, then SASLResponse. A user not
 * configured is looked up in PostgreSQL when delegated auth is on; the lookup starts
 * with the exchange and is awaited when the first message needs the salt. Configured
 * users never reach PostgreSQL for this.
 */
export class ScramLogin implements LoginMethod {
  readonly request = wire.encodeAuthenticationSasl(['SCRAM-SHA-256']);
  private readonly configured: ScramVerifier | undefined;
  private readonly lookup: Promise<VerifierLookup> | null;
  private scram: ScramServer | null = null;
  /** Why the login will fail once the exchange ends (unknown user, no verifier). */
  private refusal: string | null = null;

  constructor(
    private readonly user: string,
    private readonly users: UserStore,
    verifiers: VerifierSource | null,
    private readonly log: Logger,
  ) {
    this.configured = users.scram(user);
    this.lookup = !this.configured && verifiers ? verifiers.lookup(user) : null;
    this.lookup?.catch(() => undefined);
  }

  step(frame: Buffer): LoginStep | Promise<LoginStep> {
    return this.scram ? this.final(this.scram, frame) : this.first(frame);
  }

  private async first(frame: Buffer): Promise<LoginStep> {
    let verifier = this.configured;
    this.refusal = verifier ? null : 'unknown user';
    if (this.lookup) {
      let found: VerifierLookup;
      try {
        found = await this.lookup;
      } catch (error) {
        this.log.warn({ err: (error as Error).message }, 'delegated authentication: the auth query failed');
        return { next: 'fatal', fields: { severity: 'FATAL', code: '08006', message: 'could not check the password: the proxy cannot query PostgreSQL for it' } };
      }
      if ('verifier' in found) [verifier, this.refusal] = [found.verifier, null];
      else this.refusal = found.refused;
    }
    // Unknown users run the whole exchange with a made-up verifier and fail at the end,
    // so a client cannot tell them from wrong passwords (as PostgreSQL does).
    const scram = new ScramServer(verifier ?? this.users.mockScram(this.user));
    const initial = wire.decodeSaslInitialResponse(frame);
    if (initial.mechanism !== 'SCRAM-SHA-256') return { next: 'refused', reason: 'unsupported SASL mechanism' };
    let serverFirst: string;
    try {
      serverFirst = scram.first(initial.data.toString('utf8'));
    } catch (error) {
      return { next: 'refused', reason: (error as Error).message };
    }
    this.scram = scram;
    return { next: 'continue', reply: wire.encodeAuthenticationSaslContinue(Buffer.from(serverFirst)) };
  }

  private final(scram: ScramServer, frame: Buffer): LoginStep {
    let serverFinal: string;
    try {
      serverFinal = scram.final(wire.decodeSaslResponse(frame).toString('utf8'));
    } catch (error) {
      return { next: 'refused', reason: this.refusal ?? (error as Error).message };
    }
    if (this.refusal) return { next: 'refused', reason: this.refusal };
    return {
      next: 'accepted',
      reply: wire.encodeAuthenticationSaslFinal(Buffer.from(serverFinal)),
      // From here a looked-up user's session is the PostgreSQL role itself: its servers
      // log in as the user with the keys the proof revealed.
      delegated: this.lookup ? scram.keys() : null,
    };
  }
}
