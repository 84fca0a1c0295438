// Listens on the Redis channel the tweets subgraph publishes retweet events to (`tweet-retweeted`), so the bench can
// tell when each event left the outbox relay: the latency then splits into "response -> published" (outbox relay)
// and "published -> next" (tweets subgraph fan-out, gateway, the users fetch for retweetedBy). A minimal RESP client
// over node:net; it only subscribes.
import { connect } from 'node:net';

/** Subscribes to `channel`; calls onMessage(payload string, performance.now()) per message. Resolves once subscribed. */
export function tapChannel({ host, port, channel, onMessage }) {
  return new Promise((resolveTap, rejectTap) => {
    const socket = connect({ host, port });
    let buffer = Buffer.alloc(0);
    let subscribed = false;
    socket.setNoDelay(true);
    socket.once('error', rejectTap);
    socket.on('connect', () => {
      socket.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${Buffer.byteLength(channel)}\r\n${channel}\r\n`);
    });
    socket.on('data', (chunk) => {
      const now = performance.now();
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      let reply;
      while ((reply = parse(buffer, 0)) !== null) {
        buffer = buffer.subarray(reply.end);
        const [kind, , payload] = Array.isArray(reply.value) ? reply.value : [];
        if (kind === 'subscribe' && !subscribed) {
          subscribed = true;
          resolveTap({ close: () => socket.destroy() });
        } else if (kind === 'message') {
          onMessage(payload, now);
        }
      }
    });
  });
}

// One RESP reply starting at `offset`: {value, end}, or null when the buffer does not hold all of it yet.
function parse(buffer, offset) {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buffer[offset]);
  const head = buffer.toString('utf8', offset + 1, lineEnd);
  switch (type) {
    case '+':
    case '-':
      return { value: head, end: lineEnd + 2 };
    case ':':
      return { value: Number(head), end: lineEnd + 2 };
    case '$': {
      const length = Number(head);
      if (length < 0) return { value: null, end: lineEnd + 2 };
      const start = lineEnd + 2;
      if (buffer.length < start + length + 2) return null;
      return { value: buffer.toString('utf8', start, start + length), end: start + length + 2 };
    }
    case '*': {
      const count = Number(head);
      const items = [];
      let end = lineEnd + 2;
      for (let i = 0; i < count; i++) {
        const item = parse(buffer, end);
        if (item === null) return null;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`unexpected RESP reply type '${type}'`);
  }
}
