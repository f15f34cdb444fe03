// PostgreSQL's md5 password scheme for both ends of the proxy: md5Matches checks a
// client (frontend/auth), md5Response answers PostgreSQL (backend/server-connection).
import { createHash, timingSafeEqual } from 'node:crypto';

const md5 = (text: string | Buffer): string => createHash('md5').update(text).digest('hex');

/** PostgreSQL's stored md5 form: 'md5' + md5(password + user). Accepted as the secret too. */
export function md5Secret(user: string, secret: string): string {
  return /^md5[0-9a-f]{32}$/.test(secret) ? secret : `md5${md5(secret + user)}`;
}

/** What the client must answer for this salt: 'md5' + md5(md5(password + user) + salt). */
export function md5Response(user: string, secret: string, salt: Buffer): string {
  return `md5${md5(Buffer.concat([Buffer.from(md5Secret(user, secret).slice(3)), salt]))}`;
}

export function md5Matches(user: string, secret: string, salt: Buffer, response: string): boolean {
  const expected = Buffer.from(md5Response(user, secret, salt));
  const given = Buffer.from(response);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
