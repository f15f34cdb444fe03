import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Bearer-token check shared by HTTP and gRPC. Accepts `Authorization: Bearer <t>`,
 * `Token <t>` (InfluxDB clients) and Basic with the token as password (Telegraf's and
 * Prometheus' basic_auth). Compared as SHA-256 digests in constant time.
 */
export class TokenAuth {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.digests = tokens.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  check(authorization: string | undefined): boolean {
    if (!this.enabled) return true;
    const token = tokenOf(authorization);
    if (token === undefined) return false;
    const d = digest(token);
    let ok = false;
    for (const known of this.digests) ok = timingSafeEqual(known, d) || ok;
    return ok;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function tokenOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^\s*(Bearer|Token|Basic)\s+(\S+)\s*$/i.exec(header);
  if (!m) return undefined;
  if (m[1].toLowerCase() !== 'basic') return m[2];
  const decoded = Buffer.from(m[2], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}
