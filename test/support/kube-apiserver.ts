// A real Kubernetes control plane for operator tests, started the way controller-runtime's
// envtest does it: etcd + kube-apiserver (built from Go modules by scripts/deps/operator.sh),
// self-signed certificates from openssl, an admin client certificate in system:masters,
// random ports. No controller-manager, scheduler or kubelet run: no pods, no garbage
// collection, no ServiceAccount token controller (tokens come from the TokenRequest API).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { freePort } from './ports';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export function testbedBin(name: string): string {
  return join(process.env.STRATA_CACHE ?? join(homedir(), '.cache', 'strata'), 'bin', name);
}

export interface KubeApiserver {
  /** https://127.0.0.1:PORT */
  server: string;
  /** A kubeconfig file for the admin (system:masters) user. */
  kubeconfig: string;
  /** PEM contents, for building other kubeconfigs (e.g. a ServiceAccount token user). */
  caPem: string;
  dir: string;
  /** Stops only kube-apiserver (etcd keeps the data): the watch-disconnect test. */
  restartApiserver(): Promise<void>;
  stop(): Promise<void>;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCerts(dir: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=strata-test-ca']);
  writeFileSync(join(dir, 'serving.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n');
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'serving.key', '-out', 'serving.csr', '-subj', '/CN=kube-apiserver']);
  openssl(dir, ['x509', '-req', '-in', 'serving.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'serving.crt', '-days', '2', '-extfile', 'serving.ext']);
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'admin.key', '-out', 'admin.csr', '-subj', '/CN=strata-admin/O=system:masters']);
  openssl(dir, ['x509', '-req', '-in', 'admin.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'admin.crt', '-days', '2', '-extfile', 'client.ext']);
  openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

/** A kubeconfig whose user is either the admin certificate or a bearer token. */
export function writeKubeconfig(path: string, server: string, caPem: string, user: { certPem: string; keyPem: string } | { token: string }): void {
  const userYaml =
    'token' in user
      ? `    token: ${user.token}\n`
      : `    client-certificate-data: ${Buffer.from(user.certPem).toString('base64')}\n    client-key-data: ${Buffer.from(user.keyPem).toString('base64')}\n`;
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ${server}
    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}
users:
- name: test
  user:
${userYaml}contexts:
- name: test
  context: { cluster: test, user: test, namespace: default }
current-context: test
`,
    { mode: 0o600 },
  );
}

interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
  log: () => string;
}

function launch(bin: string, args: string[]): Proc {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, exited, log: () => out };
}

async function terminate(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await p.exited;
  clearTimeout(timer);
}

async function waitFor(what: string, check: () => Promise<boolean>, proc: Proc, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`${what} exited (code ${proc.child.exitCode}):\n${proc.log()}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs} ms:\n${proc.log()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function httpsOk(url: string, dir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { ca: readFileSync(join(dir, 'ca.crt')), cert: readFileSync(join(dir, 'admin.crt')), key: readFileSync(join(dir, 'admin.key')), timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export function kubeTestbedAvailable(): boolean {
  return ['etcd', 'kube-apiserver', 'kubectl'].every((b) => existsSync(testbedBin(b)));
}

export async function startKubeApiserver(): Promise<KubeApiserver> {
  if (!kubeTestbedAvailable()) throw new Error(`kube-apiserver/etcd/kubectl missing under ${testbedBin('')}: run scripts/deps/operator.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'strata-kube-'));
  makeCerts(dir);
  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdClient}`;
  const peerUrl = `http://127.0.0.1:${etcdPeer}`;
  const etcd = launch(testbedBin('etcd'), [
    '--name=default',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=default=${peerUrl}`,
    // Test data only: fsync would dominate on a shared disk.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ]);
  let api: Proc | undefined;
  const server = `https://127.0.0.1:${apiPort}`;
  const apiArgs = [
    `--etcd-servers=${etcdUrl}`,
    `--etcd-prefix=/registry`,
    '--bind-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--cert-dir=${dir}`,
    `--tls-cert-file=${join(dir, 'serving.crt')}`,
    `--tls-private-key-file=${join(dir, 'serving.key')}`,
    `--client-ca-file=${join(dir, 'ca.crt')}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--authorization-mode=RBAC',
    '--advertise-address=127.0.0.1',
    '--allow-privileged=true',
    // Less work on two shared cores; neither matters to the operator.
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--v=0',
  ];
  try {
    await waitFor('etcd', () => fetch(`${etcdUrl}/health`).then((r) => r.ok), etcd, 30_000);
    api = launch(testbedBin('kube-apiserver'), apiArgs);
    await waitFor('kube-apiserver', () => httpsOk(`${server}/readyz`, dir), api, 120_000);
  } catch (err) {
    await terminate(api);
    await terminate(etcd);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const kubeconfig = join(dir, 'admin.kubeconfig');
  writeKubeconfig(kubeconfig, server, caPem, { certPem: readFileSync(join(dir, 'admin.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'admin.key'), 'utf8') });
  let stopped: Promise<void> | undefined;
  return {
    server,
    kubeconfig,
    caPem,
    dir,
    async restartApiserver() {
      await terminate(api);
      api = launch(testbedBin('kube-apiserver'), apiArgs);
      await waitFor('kube-apiserver', () => httpsOk(`${server}/readyz`, dir), api, 120_000);
    },
    stop() {
      stopped ??= (async () => {
        await terminate(api);
        await terminate(etcd);
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
