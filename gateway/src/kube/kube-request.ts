import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeAccess } from './kube-access';

/** The API server answered with an error status; `reason` and `message` are from its Status object. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export interface KubeRequest {
  method: 'GET' | 'PATCH' | 'POST' | 'PUT';
  /** Path and query, e.g. /apis/strata.dev/v1alpha1/namespaces/x/tieredtables/y?fieldManager=z */
  path: string;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

/**
 * One JSON request to the API server. Resolves with the parsed body of a 2xx answer;
 * rejects with KubeApiError for an error status and with the transport error when the
 * server cannot be reached.
 */
export async function kubeRequest<T>(access: KubeAccess, r: KubeRequest): Promise<T> {
  const url = new URL(r.path, access.server);
  const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
  const opts: RequestOptions = {
    method: r.method,
    headers: { Accept: 'application/json', ...(payload ? { 'Content-Type': r.contentType ?? 'application/json', 'Content-Length': String(payload.length) } : {}) },
    timeout: r.timeoutMs ?? 10_000,
  };
  await access.authorize(opts);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = (url.protocol === 'http:' ? httpRequest : httpsRequest)(url, opts, resolve);
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`no answer from the Kubernetes API within ${opts.timeout} ms`)));
    req.end(payload);
  });
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const status = res.statusCode ?? 0;
  if (status >= 300) {
    let reason = '';
    let message = text.slice(0, 500);
    try {
      const s = JSON.parse(text) as { reason?: string; message?: string };
      reason = s.reason ?? '';
      message = s.message ?? message;
    } catch {
      // not a Status object
    }
    throw new KubeApiError(status, reason, `${status}${reason ? ` ${reason}` : ''}: ${message}`);
  }
  return (text ? JSON.parse(text) : {}) as T;
}
