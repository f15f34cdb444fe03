import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The proxy's TLS certificate in single-node mode: self-signed for localhost, made once
 * with openssl and kept in the data directory. Clients use sslmode=require (encrypted,
 * not verified); production deployments mount a real certificate instead.
 */
export function ensureSelfSignedCert(dataDir: string): { cert: string; key: string } {
  const dir = join(dataDir, 'tls');
  const cert = join(dir, 'proxy.crt');
  const key = join(dir, 'proxy.key');
  if (existsSync(cert) && existsSync(key)) return { cert, key };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '825', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
