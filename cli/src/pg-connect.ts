import { Client } from 'pg';

/**
 * A connected client whose lost server surfaces as the failing query's error: without
 * an 'error' listener, pg's event on an idle client would kill the process with a
 * stack trace.
 */
export async function connect(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}
