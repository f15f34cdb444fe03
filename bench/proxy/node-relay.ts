// The floor for any Node.js proxy, measured beside the real one in make bench-proxy: a
// plain TCP pipe, one PostgreSQL connection per client, no framing, routing, pooling or
// auth (PostgreSQL authenticates the client itself). Whatever it costs, a Node proxy
// pays at least that much.
//   node node-relay.js <listen port> <postgres host> <postgres port>
import { connect, createServer } from 'node:net';

const [listenPort, pgHost, pgPort] = process.argv.slice(2);

createServer((client) => {
  client.setNoDelay(true);
  const server = connect(Number(pgPort), pgHost);
  server.setNoDelay(true);
  client.pipe(server);
  server.pipe(client);
  client.on('error', () => server.destroy());
  server.on('error', () => client.destroy());
  client.on('close', () => server.destroy());
  server.on('close', () => client.destroy());
}).listen(Number(listenPort), '127.0.0.1');
