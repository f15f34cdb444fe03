import { Agent, request } from 'node:http';

/**
 * The load generator's HTTP client: node:http on keep-alive sockets, one per concurrent
 * request. The bench shares the machine's two cores with the gateway it measures, and
 * undici's fetch spent several times the CPU per request body (a third of a core during a
 * 200k-row run on a busy machine) — load-generator work the raw COPY side does not have.
 */
export function httpPoster(concurrency: number): { post(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; text: string }>; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  return {
    post(url, body, headers) {
      return new Promise((resolve, reject) => {
        const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}
