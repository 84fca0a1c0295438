// Throughput lost to access tokens (bench/README.md, "tokens"): the same one-subgraph query, `tweet(id)` (the
// tweets subgraph alone answers it), through the gateway at a fixed concurrency, anonymous and with a valid access
// token, in alternating rounds so that drift of the machine hits both alike. The authenticated requests pay for the
// bearer scheme, the strict validator, the revocation check and the identity assertion sent to the subgraph.
// Every response must be the expected body; anything else counts as an error.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { machineCpu, loadAverage } from '../lib/procfs.mjs';
import { TokenMinter, uuidv7 } from '../lib/tokens.mjs';

const { values: opts } = parseArgs({
  options: {
    gateway: { type: 'string' },
    key: { type: 'string' },
    issuer: { type: 'string', default: 'https://chirp.local' },
    audience: { type: 'string', default: 'chirp-api' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '5' },
    out: { type: 'string' },
  },
});
for (const required of ['gateway', 'key']) {
  if (!opts[required]) throw new Error(`--${required} is required`);
}
const positive = (name) => {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
};
const connections = positive('connections');
const rounds = positive('rounds');
const seconds = positive('seconds');
const warmup = positive('warmup');

const minter = new TokenMinter({
  keyFile: opts.key, issuer: opts.issuer, audience: opts.audience, scope: 'tweets:write email:manage', lifetimeSeconds: 3600,
});
const user = { id: uuidv7(), handle: `bench_tok_${Date.now() % 100000}`, displayName: 'Bench token user' };
const token = minter.mint(user);

async function graphql(query, variables, bearer) {
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const response = await fetch(`${opts.gateway}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return { status: response.status, text: await response.text() };
}

const created = await graphql('mutation($text: String!) { createTweet(input: { text: $text }) { tweet { id } } }', { text: 'Token bench tweet' }, token);
const tweetId = JSON.parse(created.text)?.data?.createTweet?.tweet?.id;
if (created.status !== 200 || !tweetId) throw new Error(`creating the bench tweet failed: ${created.status} ${created.text}`);

const body = JSON.stringify({ query: 'query Tweet($id: ID!) { tweet(id: $id) { id text createdAt } }', variables: { id: tweetId } });
const anonymous = await graphql(JSON.parse(body).query, { id: tweetId });
const authenticated = await graphql(JSON.parse(body).query, { id: tweetId }, token);
if (anonymous.status !== 200 || anonymous.text !== authenticated.text || !anonymous.text.includes(tweetId)) {
  throw new Error(`the query answers differ: anonymous ${anonymous.status} ${anonymous.text}, with token ${authenticated.status} ${authenticated.text}`);
}

function load(bearer, duration) {
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  return autocannon({
    url: `${opts.gateway}/graphql`, method: 'POST', headers, body, connections, duration, expectBody: anonymous.text,
  });
}

const say = (line) => process.stdout.write(`${line}\n`);
say(`Token bench: ${connections} connections, ${rounds} rounds of ${seconds} s per mode after ${warmup} s warm-up each, tweet ${tweetId}`);
await load(null, warmup);
await load(token, warmup);

const results = { anonymous: [], token: [] };
const cpuBefore = machineCpu();
for (let round = 0; round < rounds; round++) {
  // Alternate which mode goes first so neither always runs on a warmer (or more tired) machine.
  const order = round % 2 === 0 ? ['anonymous', 'token'] : ['token', 'anonymous'];
  for (const mode of order) {
    const r = await load(mode === 'token' ? token : null, seconds);
    const errors = r.errors + r.timeouts + r.non2xx + (r.mismatches ?? 0);
    results[mode].push({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors });
    say(`  round ${round + 1} ${mode.padEnd(9)} ${r.requests.average.toFixed(0).padStart(6)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  errors ${errors}`);
  }
}
const cpuAfter = machineCpu();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = Object.fromEntries(Object.entries(results).map(([mode, rs]) => [mode, {
  rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)),
  errors: rs.reduce((n, r) => n + r.errors, 0),
}]));
const lostPercent = (1 - summary.token.rps / summary.anonymous.rps) * 100;
const busy = cpuAfter.total > cpuBefore.total ? ((cpuAfter.busy - cpuBefore.busy) / (cpuAfter.total - cpuBefore.total)) * 100 : null;

say('');
say('| mode | req/s (median) | p50 ms | p99 ms | errors |');
say('|---|---|---|---|---|');
for (const [mode, s] of Object.entries(summary)) {
  say(`| ${mode === 'token' ? 'access token' : 'anonymous'} | ${s.rps.toFixed(0)} | ${s.p50} | ${s.p99} | ${s.errors} |`);
}
say('');
say(`Throughput lost to the access token: ${lostPercent.toFixed(1)} % (goal: at most 3 %)`);
say(`Machine: CPUs ${busy === null ? 'n/a' : busy.toFixed(0)} % busy during the rounds, load average ${loadAverage()}`);

if (opts.out) writeFileSync(opts.out, JSON.stringify({ connections, rounds, seconds, warmup, results, summary, lostPercent, busy }, null, 2));
const failed = summary.anonymous.errors + summary.token.errors > 0 || lostPercent > 3;
process.exitCode = failed ? 1 : 0;
