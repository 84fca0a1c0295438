// Holds many GraphQL subscriptions over the graphql-transport-ws protocol, one graphql-ws client (and so one
// WebSocket) per subscription, and reports what each one sees as JSON lines on stdout.
//
// Input: ONE JSON command, as the first argument or as the first line of stdin:
//   {
//     "url": "ws://127.0.0.1:5000/graphql",
//     "subscriptions": [
//       { "token": "<jwt>", "query": "subscription { ... }", "variables": { ... } },
//       ...
//     ]
//   }
// Per subscription, "token" becomes the connection_init payload {"Authorization": "Bearer <token>"}; without a
// token no payload is sent, and "connectionParams" (any JSON) replaces the payload when given. Without "query"
// the client only connects. "ackTimeoutMs" (whole command) closes a connection with 4504 when connection_ack
// does not come in time (default: wait forever).
//
// Output, one JSON object a line; "i" is the subscription's index in the command:
//   {"i":0,"type":"acked"}                              connection_ack arrived
//   {"i":0,"type":"next","payload":{"data":{...}}}      a result
//   {"i":0,"type":"error","payload":[{"message":..}]}   GraphQL errors for the operation, or (one entry) why the
//                                                       socket failed, e.g. an HTTP status instead of an upgrade
//   {"i":0,"type":"complete"}                           the server completed the operation
//   {"i":0,"type":"closed","code":4401,"reason":".."}   the WebSocket closed; the client never reconnects
//   {"type":"fatal","message":".."}                     the command was unusable; exit code 2
//
// It runs until stdin ends (the parent closed it or died) or SIGTERM/SIGINT arrive, then closes every socket
// with 1000 and exits 0.
import { createClient } from 'graphql-ws/client';
import WebSocket from 'ws';

function emit(line) {
  process.stdout.write(JSON.stringify(line) + '\n');
}

function fatal(message) {
  emit({ type: 'fatal', message });
  process.exit(2);
}

function describe(error) {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && typeof error.message === 'string') return error.message;
  return String(error);
}

const clients = [];
let stopping = false;

function stop() {
  if (stopping) return;
  stopping = true;
  for (const client of clients) client.dispose().catch(() => {});
  // Close frames are queued by dispose(); give them a moment to leave before the process goes.
  setTimeout(() => process.exit(0), 200).unref();
}

function start(command) {
  if (!command || typeof command.url !== 'string' || !Array.isArray(command.subscriptions)) {
    fatal('the command needs "url" (string) and "subscriptions" (array)');
  }

  const ackTimeout = Number.isFinite(command.ackTimeoutMs) ? command.ackTimeoutMs : 0;
  if (!command.subscriptions.every((s) => s !== null && typeof s === 'object' && !Array.isArray(s))) {
    fatal('every entry of "subscriptions" must be an object');
  }

  command.subscriptions.forEach((subscription, i) => {
    const connectionParams = 'connectionParams' in subscription
      ? subscription.connectionParams
      : subscription.token ? { Authorization: `Bearer ${subscription.token}` } : undefined;
    let closed = false;
    const client = createClient({
      url: command.url,
      webSocketImpl: WebSocket,
      connectionParams,
      // Connect now rather than on the first subscribe, keep the socket after the operation completes, and
      // never retry: every close the server makes stays visible as a "closed" line.
      lazy: false,
      retryAttempts: 0,
      connectionAckWaitTimeout: ackTimeout,
      // Failures are reported by the "error" and "closed" lines below.
      onNonLazyError: () => {},
      on: {
        connected: () => emit({ i, type: 'acked' }),
        // Socket failures (refused, an HTTP status instead of the upgrade, a bad first message) come here;
        // the operation's sink then only sees them again.
        error: (error) => {
          if (!stopping) emit({ i, type: 'error', payload: [{ message: describe(error) }] });
        },
        closed: (event) => {
          if (closed) return;
          closed = true;
          emit({ i, type: 'closed', code: event.code, reason: String(event.reason ?? '') });
          // A server close with 1000 would otherwise make graphql-ws reconnect while an operation is open.
          // dispose() rejects when the socket closed before connection_ack; the close is reported already.
          client.dispose().catch(() => {});
        },
      },
    });
    clients.push(client);

    if (typeof subscription.query !== 'string') return;
    client.subscribe(
      { query: subscription.query, variables: subscription.variables ?? undefined },
      {
        next: (payload) => emit({ i, type: 'next', payload }),
        error: (error) => {
          // Anything but the server's error message was reported by the client's "error" or "closed" event.
          if (Array.isArray(error)) emit({ i, type: 'error', payload: error });
        },
        complete: () => {
          // graphql-ws also completes the sink when the socket closed or the client was disposed.
          if (!closed && !stopping) emit({ i, type: 'complete' });
        },
      },
    );
  });
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);

let pending = '';
let started = false;
if (process.argv[2] !== undefined) {
  let command;
  try {
    command = JSON.parse(process.argv[2]);
  } catch (e) {
    fatal(`the argument is not JSON: ${describe(e)}`);
  }
  start(command);
  started = true;
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  if (started) return;
  pending += chunk;
  const newline = pending.indexOf('\n');
  if (newline < 0) return;
  started = true;
  let command;
  try {
    command = JSON.parse(pending.slice(0, newline));
  } catch (e) {
    fatal(`the first line of stdin is not JSON: ${describe(e)}`);
  }
  start(command);
});
process.stdin.on('end', stop);
