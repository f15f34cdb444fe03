// A test CA and a server certificate it signed for a Kubernetes Service's DNS names, made
// with openssl, so a client can verify the server as sslmode=verify-full does: the chain
// up to the CA and the name it asked for (not merely "some certificate").
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ServiceCertificate {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The names in the certificate's subjectAltName, shortest first. */
  dnsNames: string[];
}

/** The names a Service answers to inside the cluster: name, name.ns, name.ns.svc, …cluster.local. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

export function makeServiceCertificate(dir: string, service: string, namespace: string): ServiceCertificate {
  mkdirSync(dir, { recursive: true });
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const dnsNames = serviceDnsNames(service, namespace);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=${service}-test-ca`]);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', `/CN=${dnsNames[2]}`]);
  writeFileSync(join(dir, 'tls.ext'), `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}\nextendedKeyUsage=serverAuth\n`);
  openssl(['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls.crt', '-days', '2', '-extfile', 'tls.ext']);
  return { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), dnsNames };
}
