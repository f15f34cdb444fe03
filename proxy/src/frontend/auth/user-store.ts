import { createHash } from 'node:crypto';
import { parseScramVerifier, scramVerifier, type ScramVerifier } from '../../auth/scram-sha-256';

/** Configured users, with SCRAM verifiers computed once at start (PBKDF2 is slow on purpose). */
export class UserStore {
  private readonly verifiers = new Map<string, ScramVerifier>();

  constructor(private readonly secrets: ReadonlyMap<string, string>) {
    for (const [name, secret] of secrets) {
      this.verifiers.set(name, parseScramVerifier(secret) ?? scramVerifier(secret));
    }
  }

  secret(user: string): string | undefined {
    return this.secrets.get(user);
  }

  scram(user: string): ScramVerifier | undefined {
    return this.verifiers.get(user);
  }

  /** A stable made-up verifier for unknown users, so the exchange looks the same. */
  mockScram(user: string): ScramVerifier {
    const salt = createHash('sha256').update(`strata-mock:${user}`).digest().subarray(0, 16);
    return { iterations: 4096, salt, storedKey: Buffer.alloc(32), serverKey: Buffer.alloc(32) };
  }
}
