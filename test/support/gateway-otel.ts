import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoPath } from './paths';

const run = promisify(execFile);

export type OtelSignal = 'metrics' | 'logs' | 'traces';
export type OtelTransport = 'http-json' | 'http-proto' | 'grpc';

export interface OtelExportOutcome {
  /** One per export call: code 0 = SUCCESS, 1 = FAILED (with the exporter's error text). */
  results: Array<{ code: number; error?: string }>;
  traceId?: string;
  spanId?: string;
}

/** Runs test/support/gateway-otel-client.js (the OTel SDK + an OTLP exporter) in its own process. */
export async function otelExport(o: { signal: OtelSignal; transport: OtelTransport; url: string; token: string; service: string; extraSeries?: number }): Promise<OtelExportOutcome> {
  const { stdout } = await run(process.execPath, [repoPath('test', 'support', 'gateway-otel-client.js'), JSON.stringify(o)], { cwd: repoPath(), timeout: 60_000 });
  const last = stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(last) as OtelExportOutcome;
}
