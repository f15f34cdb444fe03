import { request, type Agent, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';

/** A non-2xx answer of the Kubernetes API, with its HTTP status and `Status.reason`. */
export class KubeApiError extends Error {
  readonly code = 'KUBE_API';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    /** The Status object's own message (or the start of a body that is not one). */
    readonly statusMessage = message,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/**
 * A small typed client for the Kubernetes REST API, shared by the operator and the
 * gateway. @kubernetes/client-node's KubeConfig supplies the endpoint and credentials
 * (kubeconfig files, in-cluster ServiceAccount tokens, exec plugins; see
 * transportFromKubeConfig); requests go out here, so callers control patch types,
 * optimistic locking (resourceVersion) and watch streams exactly, and sends Lease
 * MicroTimes in the format the API server parses.
 */

export type PatchType = 'merge' | 'json' | 'apply';
const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface KubeTransport {
  server: string;
  /** Applies credentials (TLS agent, Authorization header) to request options. */
  authorize(opts: RequestOptions): Promise<void>;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchHandle {
  /** Resolves when the stream ends (server timeout, disconnect or abort). */
  done: Promise<void>;
  abort(): void;
}

export class KubeClient {
  constructor(
    private readonly transport: KubeTransport,
    /** How long a request may go unanswered (not a watch). */
    private readonly timeoutMs = 30_000,
  ) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }
  create<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }
  replace<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PUT', path, body);
  }
  patch<T>(path: string, body: unknown, type: PatchType = 'merge'): Promise<T> {
    return this.call<T>('PATCH', path, body, PATCH_CONTENT_TYPE[type]);
  }
  delete<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path);
  }

  private async options(method: string, path: string, headers: Record<string, string>): Promise<RequestOptions & { url: URL }> {
    const url = new URL(path, this.transport.server);
    const opts: RequestOptions = { method, headers: { Accept: 'application/json', ...headers } };
    await this.transport.authorize(opts);
    return { ...opts, url };
  }

  async call<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const { url, ...opts } = await this.options(method, path, payload ? { 'Content-Type': contentType, 'Content-Length': String(payload.length) } : {});
    const res = await send(url, { ...opts, timeout: this.timeoutMs }, payload);
    const text = await readAll(res);
    if ((res.statusCode ?? 0) >= 300) throw apiError(res.statusCode ?? 0, text, method, path);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /**
   * A watch stream: one JSON event per line. `onEvent` is called in order; the handle's
   * `done` resolves when the server closes the stream (its timeoutSeconds, a restart) or
   * rejects on a transport error. A non-2xx answer rejects with KubeApiError.
   */
  async watch<T>(path: string, onEvent: (e: WatchEvent<T>) => void): Promise<WatchHandle> {
    const { url, ...opts } = await this.options('GET', path, {});
    const res = await send(url, opts);
    if ((res.statusCode ?? 0) >= 300) throw apiError(res.statusCode ?? 0, await readAll(res), 'GET', path);
    let buffered = '';
    const done = new Promise<void>((resolve, reject) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
        }
      });
      res.on('end', () => resolve());
      res.on('error', reject);
      // Destroyed (abort, lost connection) without an orderly end: settles as a failure.
      res.on('close', () => reject(new Error('watch stream closed')));
    });
    return { done, abort: () => res.destroy() };
  }
}

function send(url: URL, opts: RequestOptions, payload?: Buffer): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'http:' ? httpRequest : request)(url, opts, resolve);
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`request to the Kubernetes API timed out: ${opts.method} ${url.pathname}`)));
    if (payload) req.write(payload);
    req.end();
  });
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function apiError(status: number, text: string, method: string, path: string): KubeApiError {
  let reason = '';
  let message = text.slice(0, 500);
  try {
    const s = JSON.parse(text) as { reason?: string; message?: string };
    reason = s.reason ?? '';
    message = s.message ?? message;
  } catch {
    // not a Status object
  }
  return new KubeApiError(status, reason, `${method} ${path.split('?')[0]}: ${status} ${reason}: ${message}`, message);
}

/** Uses @kubernetes/client-node's KubeConfig for endpoint and credentials. */
export function transportFromKubeConfig(kc: {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}): KubeTransport {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  let agent: Agent | undefined;
  return {
    server: cluster.server,
    async authorize(opts) {
      const applied: RequestOptions = { headers: {} };
      await kc.applyToHTTPSOptions(applied);
      // One TLS agent for the process: keep-alive connections instead of a handshake per call.
      agent ??= applied.agent as Agent;
      opts.agent = agent;
      opts.headers = { ...(opts.headers as Record<string, string>), ...(applied.headers as Record<string, string>) };
    },
  };
}
