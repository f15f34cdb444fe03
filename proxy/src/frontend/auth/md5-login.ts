import { randomBytes } from 'node:crypto';
import { md5Matches } from '../../auth/md5';
import * as wire from '../../wire';
import type { LoginMethod, LoginStep } from './login-method';
import type { UserStore } from './user-store';

/** md5 (AuthenticationMD5Password): one PasswordMessage answering a fresh 4-byte salt. */
export class Md5Login implements LoginMethod {
  private readonly salt = randomBytes(4);
  readonly request = wire.encodeAuthenticationMd5(this.salt);

  constructor(
    private readonly user: string,
    private readonly users: UserStore,
  ) {}

  step(frame: Buffer): LoginStep {
    const secret = this.users.secret(this.user);
    if (!secret || !md5Matches(this.user, secret, this.salt, wire.decodePasswordMessage(frame))) return { next: 'refused', reason: secret ? 'wrong password' : 'unknown user' };
    return { next: 'accepted', reply: null, delegated: null };
  }
}
