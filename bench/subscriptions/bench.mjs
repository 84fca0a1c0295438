// The subscriptions benchmark (see bench/README.md): many authors hold a tweetRetweeted subscription through the
// gateway while a few retweeters retweet their tweets at a steady rate; measures the latency from each retweet
// mutation's response to the author's `next` frame, lost and duplicated events, and the memory the gateway and the
// tweets subgraph hold per open subscription. Load and subscribers run in this one process, so one clock
// (performance.now) times both ends.
//
// bench/subscriptions/run starts Chirp and calls this program; it can also be run by hand against a running Chirp:
//   node bench.mjs --key .keys/tokens/<kid>.pem --gateway-pid <pid> --tweets-pid <pid> [options]
// Options (defaults in brackets): --gateway [http://127.0.0.1:5000] --tweets-port [5002] --redis-port [56379] --authors [1000]
//   --retweeters [4] --rate [50] --warmup [10] --seconds [30] --open-concurrency [50] --out <file.json>
// Exit status: 0 every goal met, 1 a goal missed or events lost/duplicated/misrouted, 2 the bench could not run.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws/client';
import WebSocket from 'ws';
import * as proc from '../lib/procfs.mjs';
import { tapChannel } from './lib/redis-tap.mjs';
import { summarize } from '../lib/stats.mjs';
import { TokenMinter, uuidv7 } from '../lib/tokens.mjs';

const GOALS = { p99Ms: 100, kibPerSubscription: 20 };

const SUBSCRIPTION =
  'subscription { tweetRetweeted { eventId retweet { id } originalTweet { id } retweetedBy { id handle displayName } } }';
// Only fields the tweets subgraph owns: the authors exist only in their tokens, so their handles cannot be resolved.
const CREATE_TWEET = 'mutation CreateTweet($text: String!) { createTweet(input: { text: $text }) { tweet { id } } }';
const RETWEET = 'mutation Retweet($id: ID!) { retweet(input: { tweetId: $id }) { created tweet { id } } }';
const USER_BY_HANDLE = 'query UserByHandle($handle: String!) { userByHandle(handle: $handle) { id handle displayName } }';
const SIGN_UP = 'mutation SignUp($input: SignUpInput!) { signUp(input: $input) { user { id handle displayName } } }';

class BenchError extends Error {}

// --- options ----------------------------------------------------------------------------------------------------
const { values: opts } = parseArgs({
  options: {
    gateway: { type: 'string', default: 'http://127.0.0.1:5000' },
    'tweets-port': { type: 'string', default: '5002' },
    'redis-port': { type: 'string', default: '56379' },
    key: { type: 'string' },
    'gateway-pid': { type: 'string' },
    'tweets-pid': { type: 'string' },
    // Only for the CPU figures: the other services, PostgreSQL's postmaster (its backends are its children) and Redis.
    'users-pid': { type: 'string' },
    'email-worker-pid': { type: 'string' },
    'postgres-pid': { type: 'string' },
    'redis-pid': { type: 'string' },
    authors: { type: 'string', default: '1000' },
    retweeters: { type: 'string', default: '4' },
    rate: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '30' },
    'open-concurrency': { type: 'string', default: '50' },
    out: { type: 'string' },
    issuer: { type: 'string', default: 'https://chirp.local' },
    audience: { type: 'string', default: 'chirp-api' },
  },
});

function positive(name, { integer = true } = {}) {
  const value = Number(opts[name]);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new BenchError(`--${name} must be a positive ${integer ? 'whole ' : ''}number (got ${opts[name]})`);
  }
  return value;
}

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const startedAt = new Date();
const lines = [];
function say(message) {
  lines.push(message);
  process.stdout.write(`${message}\n`);
}
const step = (message) => say(`--> ${message}`);
const describe = (e) => (e instanceof Error ? e.message : e && typeof e.message === 'string' ? e.message : String(e));
const ms = (v) => (v === null ? 'n/a' : `${v.toFixed(1)} ms`);
const kib = (v) => `${(v / 1024).toFixed(1)} MiB`;

// --- HTTP --------------------------------------------------------------------------------------------------------
async function graphql(token, query, variables) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json, application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`${opts.gateway}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
  if (body.errors?.length) {
    throw new Error(`HTTP ${response.status}: ${body.errors.map((e) => e.message).join('; ')}`);
  }
  if (!body.data) throw new Error(`HTTP ${response.status} without data`);
  return body.data;
}

async function forEachLimited(items, limit, fn) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index], index);
    }
  });
  await Promise.all(workers);
}

// --- memory and CPU readings -------------------------------------------------------------------------------------
let gatewayPid;
let tweetsPid;
const samples = []; // {t, gateway: {rss, anon, threads}, tweets: {...}}, memory in KiB, every second for the whole run

function checkAlive() {
  for (const [name, pid] of [['gateway', gatewayPid], ['tweets subgraph', tweetsPid]]) {
    if (!proc.alive(pid)) throw new BenchError(`the ${name} (pid ${pid}) is gone: it crashed or was stopped`);
  }
}

function reading() {
  checkAlive();
  return { t: performance.now(), gateway: proc.memoryKiB(gatewayPid), tweets: proc.memoryKiB(tweetsPid) };
}

/** Waits at least minSeconds, then until the last three VmRSS readings of both processes lie within 512 KiB (at most maxSeconds). */
async function settle(label, minSeconds = 5, maxSeconds = 20) {
  const start = performance.now();
  const recent = [];
  while (true) {
    await sleep(1000);
    const r = reading();
    recent.push(r);
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed < minSeconds || recent.length < 3) continue;
    const last = recent.slice(-3);
    const spread = (key) => Math.max(...last.map((x) => x[key].rss)) - Math.min(...last.map((x) => x[key].rss));
    if ((spread('gateway') <= 512 && spread('tweets') <= 512) || elapsed >= maxSeconds) {
      say(`    ${label}: gateway ${kib(r.gateway.rss)}, tweets ${kib(r.tweets.rss)} (settled after ${elapsed.toFixed(0)} s)`);
      return { gateway: r.gateway, tweets: r.tweets, settledSeconds: Math.round(elapsed) };
    }
  }
}

// The processes whose CPU time is reported; the optional ones only when their pid was given.
function cpuProcesses() {
  const list = { gateway: gatewayPid, tweets: tweetsPid };
  for (const name of ['users', 'email-worker', 'postgres', 'redis']) {
    const pid = Number(opts[`${name}-pid`]);
    if (Number.isInteger(pid) && pid > 0) list[name] = pid;
  }
  return list;
}

function cpuSnapshot() {
  const seconds = {};
  for (const [name, pid] of Object.entries(cpuProcesses())) {
    seconds[name] = name === 'postgres' ? proc.cpuSecondsWithChildren(pid) : proc.cpuSeconds(pid);
  }
  const bench = process.cpuUsage();
  seconds.bench = (bench.user + bench.system) / 1e6;
  return { t: performance.now(), seconds, machine: proc.machineCpu() };
}

function cpuBetween(a, b) {
  const wall = (b.t - a.t) / 1000;
  const cores = os.cpus().length;
  const round = (v) => Math.round(v * 10) / 10;
  // Percent of one core per process.
  const oneCorePct = {};
  let chirp = 0;
  for (const name of Object.keys(b.seconds)) {
    const used = b.seconds[name] - a.seconds[name];
    oneCorePct[name] = round((used / wall) * 100);
    if (name !== 'bench') chirp += used;
  }
  const machineBusyPct = round(((b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total)) * 100);
  // Percent of all cores: Chirp (services, PostgreSQL, Redis), the bench, and whatever else ran on the machine.
  const chirpPct = round((chirp / wall / cores) * 100);
  const benchPct = round(((b.seconds.bench - a.seconds.bench) / wall / cores) * 100);
  return {
    seconds: round(wall),
    oneCorePct,
    machine: { cores, busyPct: machineBusyPct, chirpPct, benchPct, otherPct: round(Math.max(0, machineBusyPct - chirpPct - benchPct)) },
  };
}

// --- the machine -------------------------------------------------------------------------------------------------
function run(file, args) {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const osRelease = run('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"']);
  const memTotal = /^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  const runtimes = run('dotnet', ['--list-runtimes']) ?? '';
  const aspnet = runtimes.split('\n').filter((l) => l.startsWith('Microsoft.AspNetCore.App')).map((l) => l.split(' ')[1]);
  return {
    nproc: Number(run('nproc', [])) || os.cpus().length,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown',
    memTotalGiB: memTotal ? Math.round((Number(memTotal[1]) / 1024 / 1024) * 10) / 10 : null,
    os: osRelease,
    kernel: os.release(),
    dotnetSdk: run('dotnet', ['--version']),
    aspnetRuntimes: aspnet,
    node: process.version,
    commit: run('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']),
  };
}

// --- the benchmark -----------------------------------------------------------------------------------------------
async function main() {
  if (!opts.key) throw new BenchError('--key (the gateway\'s token signing key, a PEM file) is required');
  gatewayPid = positive('gateway-pid');
  tweetsPid = positive('tweets-pid');
  const authorCount = positive('authors');
  const rate = positive('rate', { integer: false });
  const warmupSeconds = Number(opts.warmup);
  if (!(warmupSeconds >= 0)) throw new BenchError('--warmup must be 0 or more seconds');
  const seconds = positive('seconds', { integer: false });
  const openConcurrency = positive('open-concurrency');
  const tweetsPort = positive('tweets-port');
  const warmupCount = Math.round(warmupSeconds * rate);
  const measuredCount = Math.round(seconds * rate);
  const totalRetweets = warmupCount + measuredCount;
  // Each (retweeter, tweet) pair can raise one event only: a repeat retweet returns the existing one.
  const retweeterCount = Math.max(positive('retweeters'), Math.ceil(totalRetweets / authorCount));
  const wsUrl = `${opts.gateway.replace(/^http/, 'ws')}/graphql`;

  for (const [name, pid, dll] of [['gateway', gatewayPid, 'Chirp.Gateway'], ['tweets', tweetsPid, 'Chirp.Tweets']]) {
    if (!proc.alive(pid)) throw new BenchError(`no process ${pid} (${name})`);
    if (!proc.commandLine(pid).includes(`${dll}.dll`)) throw new BenchError(`process ${pid} is not ${dll}: ${proc.commandLine(pid)}`);
  }
  const ready = await fetch(`${opts.gateway}/health/ready`).catch((e) => ({ ok: false, status: describe(e) }));
  if (!ready.ok) throw new BenchError(`${opts.gateway}/health/ready answered ${ready.status}`);

  const minter = new TokenMinter({
    keyFile: opts.key,
    issuer: opts.issuer,
    audience: opts.audience,
    scope: 'tweets:write email:manage',
    // The gateway's default AccessTokenLifetime, 15 minutes; a subscription ends when its token expires, so a
    // longer run gets longer-lived tokens.
    lifetimeSeconds: Math.max(15 * 60, Math.ceil(warmupSeconds + seconds) + 10 * 60),
  });
  const config = {
    authors: authorCount, retweeters: retweeterCount, rate, warmupSeconds, seconds, openConcurrency,
    gateway: opts.gateway, keyId: minter.kid,
  };
  say(`Subscriptions bench: ${authorCount} subscribers, ${rate} retweets/s from ${retweeterCount} retweeters, ` +
      `${warmupSeconds} s warm-up + ${seconds} s measured (gateway pid ${gatewayPid}, tweets pid ${tweetsPid}, kid ${minter.kid})`);

  const sampler = setInterval(() => {
    try {
      samples.push(reading());
    } catch {
      // checkAlive reports a crash at the next step.
    }
  }, 1000);
  sampler.unref();

  // Retweeters are real users: the subscription asks for retweetedBy { handle displayName }, which the users
  // subgraph resolves. They are signed up once (the data stays in .run) and never log in: their tokens are minted.
  step(`retweeters: ${retweeterCount} users bench_rt_1..${retweeterCount}`);
  const retweeters = [];
  for (let r = 1; r <= retweeterCount; r++) {
    const handle = `bench_rt_${r}`;
    let user = (await graphql(null, USER_BY_HANDLE, { handle })).userByHandle;
    if (!user) {
      const input = { handle, displayName: `Bench retweeter ${r}`, password: randomBytes(18).toString('base64url') };
      user = (await graphql(null, SIGN_UP, { input })).signUp.user;
    }
    retweeters.push({ ...user, token: minter.mint(user) });
  }

  // Authors exist only in their tokens: fresh ids every run, so every retweet of this run is new.
  step(`authors: minting ${authorCount} tokens and posting one tweet each`);
  const run = randomBytes(3).toString('hex');
  const authors = Array.from({ length: authorCount }, (_, i) => {
    const user = { id: uuidv7(), handle: `b${run}_${i}`, displayName: `Bench author ${i}` };
    return { index: i, ...user, token: minter.mint(user), tweetId: null };
  });
  const tweetStart = performance.now();
  await forEachLimited(authors, 8, async (author) => {
    const data = await graphql(author.token, CREATE_TWEET, { text: `Bench tweet ${author.index} of run ${run}` }).catch((e) => {
      throw new BenchError(`posting a tweet with a minted token failed (is ${opts.key} the gateway's key?): ${describe(e)}`);
    });
    author.tweetId = data.createTweet.tweet.id;
  });
  const tweetOwner = new Map(authors.map((a) => [a.tweetId, a.index]));
  say(`    ${authorCount} tweets in ${((performance.now() - tweetStart) / 1000).toFixed(1)} s`);

  // Warm the retweet path (HTTP client pools, JIT) before the baseline, on tweets nobody listens to.
  step('warming the retweet path on 20 unwatched tweets');
  const spare = await graphql(retweeters[0].token, CREATE_TWEET, { text: `Bench spare tweet of run ${run}` });
  for (let r = 1; r < retweeters.length; r++) {
    await graphql(retweeters[r].token, RETWEET, { id: spare.createTweet.tweet.id });
  }
  for (let w = 0; w < 20; w++) {
    const t = (await graphql(retweeters[0].token, CREATE_TWEET, { text: `Bench spare tweet ${w} of run ${run}` })).createTweet.tweet.id;
    await graphql(retweeters[1 % retweeters.length].token, RETWEET, { id: t });
  }

  step('baseline: nothing subscribed');
  const baseline = await settle('before subscribing');
  // Connections from the gateway to the tweets subgraph: opening subscriptions makes one WebSocket each (and no
  // other traffic to it), so the new ones are the subscriptions' upstream sockets.
  const upstreamBefore = proc.connectionsTo(tweetsPort);
  const newUpstream = () => [...proc.connectionsTo(tweetsPort)].filter((c) => !upstreamBefore.has(c));
  const loadBefore = proc.loadAverage();

  // When each event was published on Redis (retweet id -> time), to split the latency; optional.
  const published = new Map();
  const tap = await tapChannel({
    host: '127.0.0.1',
    port: positive('redis-port'),
    channel: 'tweet-retweeted',
    onMessage: (message, t) => {
      try {
        const id = JSON.parse(JSON.parse(message).data).retweetId;
        if (!published.has(id)) published.set(id, t);
      } catch {
        // Not an event this bench can read; the subscribers' view is what counts.
      }
    },
  }).catch((e) => {
    say(`    (no Redis tap: ${describe(e)}; the latency is not split)`);
    return null;
  });

  // --- open the subscriptions ---
  const subscribers = new Array(authorCount);
  const events = []; // {i, t, payload}
  let unexpectedCloses = 0;
  const closeCodes = {}; // code -> count, closes the bench did not ask for
  let stopping = false;

  function open(author) {
    return new Promise((resolveOpen) => {
      const s = { i: author.index, openedAt: performance.now(), ackedAt: null, closed: null, errors: [], client: null };
      subscribers[author.index] = s;
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { Authorization: `Bearer ${author.token}` },
        lazy: false,
        retryAttempts: 0,
        connectionAckWaitTimeout: 30_000,
        onNonLazyError: () => {},
        on: {
          connected: () => {
            s.ackedAt = performance.now();
            resolveOpen(s);
          },
          error: (e) => {
            if (!stopping) s.errors.push(describe(e));
          },
          closed: (event) => {
            if (s.closed) return;
            s.closed = { code: event.code, reason: String(event.reason ?? ''), at: performance.now() };
            if (!stopping) {
              unexpectedCloses++;
              closeCodes[event.code] = (closeCodes[event.code] ?? 0) + 1;
            }
            resolveOpen(s);
            client.dispose().catch(() => {});
          },
        },
      });
      s.client = client;
      client.subscribe({ query: SUBSCRIPTION }, {
        next: (payload) => events.push({ i: author.index, t: performance.now(), payload }),
        error: (error) => {
          if (!stopping) s.errors.push(Array.isArray(error) ? error.map((e) => e.message).join('; ') : describe(error));
        },
        complete: () => {},
      });
    });
  }

  step(`opening ${authorCount} subscriptions, ${openConcurrency} at a time`);
  const half = Math.floor(authorCount / 2);
  await forEachLimited(authors.slice(0, half), openConcurrency, open);
  const ackedHalf = subscribers.filter((s) => s?.ackedAt && !s.closed).length;
  if (ackedHalf === 0) {
    const first = subscribers.find(Boolean);
    throw new BenchError(`the gateway acknowledged no subscription (first one: ${JSON.stringify(first?.closed ?? first?.errors)})`);
  }
  await waitForUpstream(ackedHalf, 60);
  const middle = await settle(`${half} open`);
  await forEachLimited(authors.slice(half), openConcurrency, open);
  const acked = subscribers.filter((s) => s.ackedAt && !s.closed).length;
  const refused = subscribers.filter((s) => !s.ackedAt);
  if (refused.length) {
    say(`    ${refused.length} connections were not acknowledged, e.g. ${JSON.stringify(refused[0].closed ?? refused[0].errors[0])}`);
  }
  const upstreamReached = await waitForUpstream(acked, 60);
  const afterOpen = await settle(`${authorCount} open`);
  const upstreamSockets = new Set(newUpstream());
  const upstreamOpen = upstreamSockets.size;
  const ackTimes = subscribers.filter((s) => s.ackedAt).map((s) => s.ackedAt - s.openedAt);
  say(`    acknowledged ${acked}/${authorCount}; upstream sockets gateway->tweets +${upstreamOpen}` +
      `${upstreamReached ? '' : ' (fewer than the acknowledged subscriptions after 60 s)'}; ` +
      `connection_ack p50 ${ms(summarize(ackTimes).p50)}, p99 ${ms(summarize(ackTimes).p99)}`);

  async function waitForUpstream(target, timeoutSeconds) {
    const deadline = performance.now() + timeoutSeconds * 1000;
    while (performance.now() < deadline) {
      if (newUpstream().length >= target) return true;
      checkAlive();
      await sleep(250);
    }
    return false;
  }

  // --- retweets at a steady rate ---
  // Retweet k goes to author order[k % N] (a shuffled order, so every author gets about the same share) from
  // retweeter floor(k / N): no pair repeats.
  const order = authors.map((a) => a.index);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const retweets = new Array(totalRetweets);
  const interval = 1000 / rate;
  let inFlight = 0;
  let maxInFlight = 0;

  async function fire(k, scheduledAt) {
    const author = authors[order[k % authorCount]];
    const retweeter = retweeters[Math.floor(k / authorCount)];
    const rt = { k, author: author.index, retweeter: retweeter.id, warmup: k < warmupCount, scheduledAt, sentAt: performance.now() };
    retweets[k] = rt;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      const data = await graphql(retweeter.token, RETWEET, { id: author.tweetId });
      rt.respondedAt = performance.now();
      rt.created = data.retweet.created === true;
      rt.retweetId = data.retweet.tweet.id;
    } catch (e) {
      rt.respondedAt = performance.now();
      rt.error = describe(e);
    } finally {
      inFlight--;
    }
  }

  step(`retweeting: ${warmupCount} warm-up + ${measuredCount} measured at ${rate}/s`);
  const pending = [];
  let cpuWindowStart = null;
  const scheduleStart = performance.now() + 50;
  await new Promise((resolveSchedule, rejectSchedule) => {
    let k = 0;
    const tick = () => {
      try {
        const now = performance.now();
        while (k < totalRetweets && scheduleStart + k * interval <= now) {
          if (k === warmupCount) cpuWindowStart = cpuSnapshot();
          pending.push(fire(k, scheduleStart + k * interval));
          k++;
        }
        if (k >= totalRetweets) {
          resolveSchedule();
          return;
        }
        if (k % 50 === 0) checkAlive();
        setTimeout(tick, Math.max(0, scheduleStart + k * interval - performance.now()));
      } catch (e) {
        rejectSchedule(e);
      }
    };
    tick();
  });
  const windowEnd = scheduleStart + totalRetweets * interval;
  await sleep(Math.max(0, windowEnd - performance.now()));
  const cpuWindow = cpuBetween(cpuWindowStart ?? cpuSnapshot(), cpuSnapshot());
  await Promise.all(pending);

  // Wait for the last events (up to 15 s after the last response).
  const expected = new Set(retweets.filter((r) => r.created).map((r) => r.retweetId));
  const drainDeadline = performance.now() + 15_000;
  while (performance.now() < drainDeadline) {
    const seen = new Set(events.map((e) => e.payload?.data?.tweetRetweeted?.retweet?.id));
    if ([...expected].every((id) => seen.has(id))) break;
    await sleep(200);
  }
  const afterLoad = await settle('after the retweets');

  // --- close everything and see what stays ---
  step('closing every subscription');
  stopping = true;
  await Promise.all(subscribers.map((s) => s.client.dispose().catch(() => {})));
  const upstreamDeadline = performance.now() + 30_000;
  const upstreamStillOpen = () => [...proc.connectionsTo(tweetsPort)].filter((c) => upstreamSockets.has(c)).length;
  let upstreamLeft = upstreamStillOpen();
  while (upstreamLeft > 0 && performance.now() < upstreamDeadline) {
    await sleep(250);
    upstreamLeft = upstreamStillOpen();
  }
  const afterClose = await settle('after closing');
  tap?.close();
  clearInterval(sampler);

  // --- results ---
  const byRetweet = new Map();
  let eventErrors = 0;
  const eventErrorSamples = [];
  let unknownEvents = 0;
  let misrouted = 0;
  for (const e of events) {
    if (e.payload?.errors?.length) {
      eventErrors++;
      if (eventErrorSamples.length < 3) eventErrorSamples.push(e.payload.errors.map((x) => x.message).join('; '));
    }
    const ev = e.payload?.data?.tweetRetweeted;
    const id = ev?.retweet?.id;
    if (!id || !expected.has(id)) {
      unknownEvents++;
      continue;
    }
    if (tweetOwner.get(ev.originalTweet?.id) !== e.i) misrouted++;
    if (!byRetweet.has(id)) byRetweet.set(id, []);
    byRetweet.get(id).push(e);
  }

  const part = (list) => {
    const ok = list.filter((r) => r.created);
    const latencies = [];
    const fromRequest = [];
    const toPublish = [];
    const fromPublish = [];
    let missing = 0;
    let duplicated = 0;
    let beforeResponse = 0;
    let wrongRetweeter = 0;
    for (const r of ok) {
      const seen = byRetweet.get(r.retweetId) ?? [];
      if (seen.length === 0) {
        missing++;
        continue;
      }
      if (seen.length > 1) duplicated += seen.length - 1;
      const first = seen[0];
      if (first.payload.data.tweetRetweeted.retweetedBy?.id !== r.retweeter) wrongRetweeter++;
      const latency = first.t - r.respondedAt;
      if (latency < 0) beforeResponse++;
      latencies.push(latency);
      fromRequest.push(first.t - r.sentAt);
      const publishedAt = published.get(r.retweetId);
      if (publishedAt !== undefined) {
        toPublish.push(publishedAt - r.respondedAt);
        fromPublish.push(first.t - publishedAt);
      }
    }
    return {
      retweets: list.length,
      created: ok.length,
      notCreated: list.filter((r) => !r.error && !r.created).length,
      mutationErrors: list.filter((r) => r.error).length,
      mutationErrorSamples: [...new Set(list.filter((r) => r.error).map((r) => r.error))].slice(0, 3),
      missing,
      duplicated,
      wrongRetweeter,
      eventBeforeResponse: beforeResponse,
      latencyMs: summarize(latencies),
      requestToEventMs: summarize(fromRequest),
      // The split at the Redis PUBLISH (negative: published before the response was read).
      responseToPublishMs: summarize(toPublish),
      publishToEventMs: summarize(fromPublish),
      mutationMs: summarize(list.filter((r) => r.respondedAt).map((r) => r.respondedAt - r.sentAt)),
      maxScheduleLagMs: Math.round(Math.max(0, ...list.map((r) => r.sentAt - r.scheduledAt)) * 10) / 10,
    };
  };
  // Per second from the first scheduled retweet: retweets sent, events published on Redis, `next` frames received.
  const timeline = [];
  const bucket = (t) => Math.floor((t - scheduleStart) / 1000);
  const count = (t, key) => {
    const b = bucket(t);
    if (b < 0) return;
    while (timeline.length <= b) timeline.push({ second: timeline.length, sent: 0, published: 0, received: 0 });
    timeline[b][key]++;
  };
  for (const r of retweets) count(r.sentAt, 'sent');
  for (const t of published.values()) count(t, 'published');
  for (const e of events) count(e.t, 'received');

  const measured = part(retweets.filter((r) => !r.warmup));
  const warmup = part(retweets.filter((r) => r.warmup));
  // The measured window in 10-second slices (by schedule): a trend shows a backlog building up or draining.
  measured.slices = [];
  for (let from = warmupSeconds; from < warmupSeconds + seconds; from += 10) {
    const to = Math.min(from + 10, warmupSeconds + seconds);
    const slice = part(retweets.filter((r) => !r.warmup && r.scheduledAt >= scheduleStart + from * 1000 && r.scheduledAt < scheduleStart + to * 1000));
    measured.slices.push({ fromSecond: from, toSecond: to, latencyMs: slice.latencyMs, responseToPublishMs: slice.responseToPublishMs });
  }
  // Every retweet: [k, sent, responded, published, first next] in ms from the first scheduled retweet (null: never).
  const rel = (t) => (t === undefined || t === null ? null : Math.round((t - scheduleStart) * 10) / 10);
  const perRetweet = retweets.map((r) => [
    r.k, rel(r.sentAt), rel(r.respondedAt), rel(published.get(r.retweetId)), rel(byRetweet.get(r.retweetId)?.[0]?.t),
  ]);
  const eventIds = events.map((e) => e.payload?.data?.tweetRetweeted?.eventId).filter(Boolean);
  const duplicateEventIds = eventIds.length - new Set(eventIds).size;

  const round2 = (v) => Math.round(v * 100) / 100;
  const memoryOf = (service) => {
    const at = (point) => ({ rss: point[service].rss, anon: point[service].anon });
    const during = samples.filter((x) => x.t >= scheduleStart && x.t <= windowEnd + 15_000);
    return {
      kib: { before: at(baseline), half: at(middle), open: at(afterOpen), afterLoad: at(afterLoad), afterClose: at(afterClose) },
      // (all open - before) / N, and (all open - half open) / (N - N/2): the second leaves out one-time costs.
      rssKiBPerSubscription: round2((afterOpen[service].rss - baseline[service].rss) / authorCount),
      rssKiBPerSubscriptionSecondHalf: round2((afterOpen[service].rss - middle[service].rss) / (authorCount - half)),
      anonKiBPerSubscription: round2((afterOpen[service].anon - baseline[service].anon) / authorCount),
      anonKiBPerSubscriptionSecondHalf: round2((afterOpen[service].anon - middle[service].anon) / (authorCount - half)),
      threads: { open: afterOpen[service].threads, maxWhileRetweeting: Math.max(0, ...during.map((x) => x[service].threads)) },
    };
  };
  const memory = { gateway: memoryOf('gateway'), tweets: memoryOf('tweets') };
  const gatewayPerSub = memory.gateway.rssKiBPerSubscription;
  const subscriberErrors = subscribers.flatMap((s) => s.errors);

  const correctnessOk = measured.missing === 0 && measured.duplicated === 0 && warmup.missing === 0 && warmup.duplicated === 0 &&
    misrouted === 0 && unknownEvents === 0 && duplicateEventIds === 0 && eventErrors === 0 &&
    measured.mutationErrors === 0 && warmup.mutationErrors === 0 && acked === authorCount && unexpectedCloses === 0;
  const goals = {
    p99: { goalMs: GOALS.p99Ms, measuredMs: measured.latencyMs.p99, met: measured.latencyMs.p99 !== null && measured.latencyMs.p99 <= GOALS.p99Ms },
    memory: { goalKiB: GOALS.kibPerSubscription, measuredKiB: gatewayPerSub, met: gatewayPerSub <= GOALS.kibPerSubscription },
    noLostOrDuplicated: { met: correctnessOk },
  };

  const result = {
    bench: 'subscriptions',
    date: startedAt.toISOString(),
    machine: machine(),
    config,
    load: { loadAverageBefore: loadBefore, loadAverageAfter: proc.loadAverage(), cpuDuringMeasuredWindow: cpuWindow, maxInFlight },
    connections: {
      acked,
      notAcked: refused.length,
      unexpectedCloses,
      closeCodes,
      subscriberErrors: subscriberErrors.length,
      subscriberErrorSamples: [...new Set(subscriberErrors)].slice(0, 3),
      ackMs: summarize(ackTimes),
      upstreamSocketsOpen: upstreamOpen,
      upstreamSocketsLeftAfterClose: upstreamLeft,
    },
    events: { received: events.length, withErrors: eventErrors, errorSamples: eventErrorSamples, unknown: unknownEvents, misrouted, duplicateEventIds },
    measured,
    warmup,
    memory,
    goals,
    timeline,
    perRetweet,
    memorySamplesKiB: samples.map((s) => ({ t: Math.round(s.t), gateway: s.gateway, tweets: s.tweets })),
  };
  if (opts.out) {
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, JSON.stringify(result, null, 2) + '\n');
  }

  // --- report ---
  const m = measured;
  say('');
  say(`Results (${result.date}, ${result.machine.nproc} cores, load average ${loadBefore} before, ${result.load.loadAverageAfter} after)`);
  say(`  subscriptions      ${acked}/${authorCount} acknowledged, ${unexpectedCloses} closed unexpectedly, ${subscriberErrors.length} errors`);
  say(`  retweets measured  ${m.retweets} in ${seconds} s (${(m.retweets / seconds).toFixed(1)}/s), ${m.created} created, ` +
      `${m.mutationErrors} failed, mutation p50 ${ms(m.mutationMs.p50)} p99 ${ms(m.mutationMs.p99)}, up to ${maxInFlight} in flight, ` +
      `max schedule lag ${m.maxScheduleLagMs} ms`);
  if (m.mutationErrorSamples.length) say(`    e.g. ${m.mutationErrorSamples[0]}`);
  say(`  latency response->next  p50 ${ms(m.latencyMs.p50)}  p90 ${ms(m.latencyMs.p90)}  p99 ${ms(m.latencyMs.p99)}  max ${ms(m.latencyMs.max)}` +
      `  (min ${ms(m.latencyMs.min)}, ${m.eventBeforeResponse} events before their response)`);
  say(`  latency request->next   p50 ${ms(m.requestToEventMs.p50)}  p99 ${ms(m.requestToEventMs.p99)}  max ${ms(m.requestToEventMs.max)}`);
  say(`  by 10 s of window      ${m.slices.map((x) => `${x.fromSecond}-${x.toSecond} s: p50 ${ms(x.latencyMs.p50)} p99 ${ms(x.latencyMs.p99)}`).join('; ')}`);
  if (m.responseToPublishMs.count) {
    say(`  split at Redis PUBLISH  response->published p50 ${ms(m.responseToPublishMs.p50)} p99 ${ms(m.responseToPublishMs.p99)}; ` +
        `published->next p50 ${ms(m.publishToEventMs.p50)} p99 ${ms(m.publishToEventMs.p99)} max ${ms(m.publishToEventMs.max)}`);
  }
  say(`  events             missing ${m.missing}, duplicated ${m.duplicated} (warm-up: missing ${warmup.missing}, duplicated ${warmup.duplicated}); ` +
      `misrouted ${misrouted}, unknown ${unknownEvents}, with errors ${eventErrors}`);
  for (const [name, service] of [['gateway', 'gateway'], ['tweets ', 'tweets']]) {
    const x = memory[service];
    say(`  ${name} RSS        ${kib(x.kib.before.rss)} -> ${kib(x.kib.half.rss)} (${half} open) -> ${kib(x.kib.open.rss)} (${authorCount} open): ` +
        `${x.rssKiBPerSubscription} KiB/subscription (second half alone ${x.rssKiBPerSubscriptionSecondHalf}; ` +
        `RssAnon ${x.anonKiBPerSubscription}); after the retweets ${kib(x.kib.afterLoad.rss)}, after closing ${kib(x.kib.afterClose.rss)}; ` +
        `threads ${x.threads.open} open, up to ${x.threads.maxWhileRetweeting} while retweeting`);
  }
  say(`  upstream sockets   +${upstreamOpen} while open, ${upstreamLeft} left after closing`);
  say(`  CPU (measured)     of one core: ${Object.entries(cpuWindow.oneCorePct).map(([n, v]) => `${n} ${v}%`).join(', ')}`);
  say(`                     of the machine (${cpuWindow.machine.cores} cores): ${cpuWindow.machine.busyPct}% busy = ` +
      `Chirp ${cpuWindow.machine.chirpPct}% + bench ${cpuWindow.machine.benchPct}% + other programs ${cpuWindow.machine.otherPct}%`);
  say('');
  say(`  goal p99 <= ${GOALS.p99Ms} ms: ${goals.p99.met ? 'met' : 'MISSED'} (${ms(m.latencyMs.p99)})`);
  say(`  goal <= ${GOALS.kibPerSubscription} KiB of gateway RSS per subscription: ${goals.memory.met ? 'met' : 'MISSED'} (gateway ${gatewayPerSub} KiB)`);
  say(`  every retweet answered, its event delivered once: ${correctnessOk ? 'met' : 'MISSED'}`);
  if (opts.out) say(`  full result: ${opts.out}`);
  return goals.p99.met && goals.memory.met && correctnessOk ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench failed: ${e instanceof BenchError ? e.message : e?.stack ?? e}\n`);
    process.exit(2);
  },
);
