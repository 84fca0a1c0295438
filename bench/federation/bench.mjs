// The federation bench (bench/README.md, section "federation"): starts the benchmark subgraphs, then each gateway
// alone on its own core, drives it with wrk from the other core, checks every response and prints the figures side
// by side. Started by ./run, which installs and builds what this needs and passes the paths.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { processCpuMs, processStatusKb, coreTimes, coreBusyPercent, loadAverage } from './lib/proc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({
  options: {
    out: { type: 'string' },
    'chirp-dir': { type: 'string' },
    'ceiling-dll': { type: 'string' },
    counters: { type: 'string' },
    gateways: { type: 'string', default: 'chirp,apollo,hive,ceiling' },
    window: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '15' },
    'latency-window': { type: 'string', default: '30' },
    'single-window': { type: 'string', default: '20' },
    rate: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'gateway-core': { type: 'string', default: '0' },
    'load-core': { type: 'string', default: '1' },
    'base-port': { type: 'string', default: '7300' },
    connections: { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
  },
});
if (opt.quick) {
  opt.runs = '1';
  opt.window = '10';
  opt.warmup = '5';
  opt['latency-window'] = '8';
  opt['single-window'] = '5';
}
for (const required of ['out', 'chirp-dir', 'ceiling-dll', 'counters']) {
  if (!opt[required]) throw new Error(`--${required} is required`);
}

const out = opt.out;
mkdirSync(out, { recursive: true });
const seconds = (name) => Number(opt[name]);
const connections = Number(opt.connections);
const gatewayCore = opt['gateway-core'];
const loadCore = opt['load-core'];
const basePort = Number(opt['base-port']);
const ports = { subgraphs: basePort + 1, gateway: basePort + 2, redis: basePort + 3 };
const workload = join(here, 'workload');
const deepQuery = join(workload, 'query.json');
const expectedDeep = join(workload, 'expected-response.json');
// The one-subgraph query: everything comes from the products subgraph in one fetch.
const singleQuery = join(out, 'single-query.json');
writeFileSync(singleQuery, JSON.stringify({ query: '{ topProducts { upc name price weight } }' }));
const subgraphsUrl = `http://127.0.0.1:${ports.subgraphs}/graphql`;

const children = new Set();
const log = (line) => console.log(line);

/** Starts a process pinned to one core (taskset execs it, so the pid is the program's own), output to a log file. */
function startPinned(name, core, command, args, options = {}) {
  const logFile = join(out, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn('taskset', ['-c', core, command, ...args], {
    cwd: options.cwd ?? here,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', fd, fd],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.logFile = logFile;
  return child;
}

async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function stopAll() {
  await Promise.all([...children].map(stop));
}
process.on('SIGINT', () => stopAll().then(() => process.exit(130)));
process.on('SIGTERM', () => stopAll().then(() => process.exit(143)));

async function post(url, bodyFile) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: readFileSync(bodyFile),
  });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

async function waitForAnswer(url, bodyFile, child, seconds = 90) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode}); see ${child.logFile}`);
    try {
      const answer = await post(url, bodyFile);
      if (answer.status === 200) return answer;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`${url} did not answer 200 within ${seconds} s`);
}

/**
 * Checks a gateway's answer against the expected response: the same JSON (member order included). Returns the file
 * wrk compares every response with, byte for byte: the expected file itself, or this gateway's own bytes when they
 * differ only in formatting (Apollo Server ends its body with a newline).
 */
function referenceFor(name, answer, expectedFile) {
  const expected = readFileSync(expectedFile);
  if (answer.body.equals(expected)) return { file: expectedFile, byteIdentical: true };
  const same = isDeepStrictEqual(JSON.parse(answer.body.toString('utf8')), JSON.parse(expected.toString('utf8')));
  if (!same) {
    const file = join(out, `${name}-wrong-answer.json`);
    writeFileSync(file, answer.body);
    throw new Error(`${name} answered something else than ${expectedFile} (its answer: ${file})`);
  }
  const file = join(out, `${name}-reference-${expectedFile.endsWith('expected-response.json') ? 'deep' : 'single'}.json`);
  writeFileSync(file, answer.body);
  return { file, byteIdentical: false };
}

/** Runs wrk from the load core; returns its result line (requests, latency in µs, mismatches). */
async function wrk(url, { body, reference, seconds, connections, rate }) {
  if (rate) {
    // About two requests per connection per second: enough connections to carry the rate at up to 2 s latency,
    // few enough that none sits idle past a server's keep-alive timeout (Node's is 5 s).
    connections = Math.max(2, Math.min(connections, Math.floor(2 * rate)));
  }
  const args = ['-c', loadCore, 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s',
    '-s', join(here, 'wrk.lua'), url, '--', body, reference ?? '-'];
  if (rate) args.push(String(rate));
  const output = await new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk failed (${code}): ${text}`))));
  });
  const line = output.split('\n').find((l) => l.startsWith('wrk-result '));
  if (!line) throw new Error(`wrk printed no result: ${output}`);
  const result = JSON.parse(line.slice('wrk-result '.length));
  result.rps = result.requests / (result.duration_us / 1e6);
  result.errors = result.connect_errors + result.read_errors + result.write_errors + result.timeouts;
  return result;
}

/** Subgraph fetches per request, counted over a few requests sent one after the other (nothing else in flight). */
async function fetchesPerRequest(url, bodyFile, count = 5) {
  await settle();
  const before = await subgraphStats();
  for (let i = 0; i < count; i++) {
    await post(url, bodyFile);
  }
  const after = await subgraphStats();
  return { fetches: (total(after.requests) - total(before.requests)) / count, bytes: (after.bytes - before.bytes) / count };
}

const total = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);

async function subgraphStats() {
  return (await fetch(`http://127.0.0.1:${ports.subgraphs}/stats`)).json();
}

/**
 * Waits until the subgraphs see no more fetches for a second: when wrk stops it drops its connections, but a gateway
 * may still be working on the requests that were in flight, and that work must not count in the next window.
 */
async function settle(maxSeconds = 30) {
  const deadline = Date.now() + maxSeconds * 1000;
  let last = await subgraphFetches();
  while (Date.now() < deadline) {
    await sleep(1000);
    const now = await subgraphFetches();
    if (now === last) return;
    last = now;
  }
}

async function subgraphFetches() {
  return total((await subgraphStats()).requests);
}

/** Starts dotnet-counters on a .NET process for the runtime's GC and allocation counters (1 s intervals). */
function startCounters(pid, name, secondsToRun) {
  const file = join(out, `${name}-counters.json`);
  const counters = 'System.Runtime[dotnet.gc.heap.total_allocated,dotnet.gc.pause.time,dotnet.gc.collections]';
  const duration = new Date(secondsToRun * 1000).toISOString().slice(11, 19); // hh:mm:ss
  const child = spawn('taskset', ['-c', loadCore, opt.counters, 'collect', '-p', String(pid), '--counters', counters,
    '--format', 'json', '-o', file, '--refresh-interval', '1', '--duration', `00:${duration}`], { stdio: 'ignore' });
  children.add(child);
  const done = new Promise((resolve) => child.on('exit', () => { children.delete(child); resolve(); }));
  return { file, done, child };
}

/** Averages of the 1-second counter intervals that lie inside [start, end] (ms since the epoch). */
function readCounters(file, start, end) {
  if (!existsSync(file)) return null;
  let text = readFileSync(file, 'utf8').trim();
  if (!text.endsWith('}')) text = text.replace(/,?\s*$/, '') + ']}';
  const events = JSON.parse(text).Events.filter((e) => {
    const t = Date.parse(e.timestamp);
    return t - 1000 >= start && t <= end;
  });
  const series = (prefix, tags) => events.filter((e) => e.name.startsWith(prefix) && (tags === undefined || e.tags === tags)).map((e) => e.value);
  const mean = (values) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  const allocated = series('dotnet.gc.heap.total_allocated');
  return {
    intervals: allocated.length,
    allocatedBytesPerSecond: mean(allocated),
    gcPauseShare: mean(series('dotnet.gc.pause.time')),
    gen0PerSecond: mean(series('dotnet.gc.collections', 'gc.heap.generation=gen0')),
    gen1PerSecond: mean(series('dotnet.gc.collections', 'gc.heap.generation=gen1')),
    gen2: sum(series('dotnet.gc.collections', 'gc.heap.generation=gen2')),
  };
}

/** One measured window of wrk against a running gateway, with the process's CPU, the cores and the fetches. */
async function measure(name, gateway, url, { body, reference, seconds, connections, rate, counters }) {
  await settle();
  const counterSession = counters ? startCounters(gateway.pid, name, seconds + 8) : null;
  // Every gateway idles 5 s before every window (a counters session needs that long to attach): background work the
  // warm-up left behind, such as a JIT compiling its hot code again, finishes first and does not land in the window.
  await sleep(5000);
  const cpuBefore = processCpuMs(gateway.pid);
  const coresBefore = coreTimes();
  const start = Date.now();
  const result = await wrk(url, { body, reference, seconds, connections, rate });
  const end = Date.now();
  const cores = coreBusyPercent(coresBefore, coreTimes());
  const cpuMs = processCpuMs(gateway.pid) - cpuBefore;
  const measured = {
    ...result,
    cpuMsPerRequest: cpuMs / result.requests,
    gatewayCorePercent: (100 * cpuMs) / (end - start),
    coreBusy: cores,
  };
  measured.harnessBound = cores[loadCore] > 85;
  if (counterSession) {
    await counterSession.done;
    const c = readCounters(counterSession.file, start, end);
    if (c && c.allocatedBytesPerSecond !== null) {
      measured.counters = c;
      measured.allocatedBytesPerRequest = c.allocatedBytesPerSecond / result.rps;
    }
  }
  return measured;
}

const runDir = join(out, 'run');
mkdirSync(join(runDir, 'keys', 'tokens'), { recursive: true });
mkdirSync(join(runDir, 'keys', 'identity'), { recursive: true });
const supergraph = join(runDir, 'supergraph.graphql');
writeFileSync(supergraph, readFileSync(join(workload, 'supergraph.graphql'), 'utf8').replaceAll('http://localhost:7200/graphql', subgraphsUrl));

/** How each gateway starts, serving the same supergraph file on the gateway port. */
function gatewayCommand(name) {
  const url = `http://127.0.0.1:${ports.gateway}`;
  switch (name) {
    case 'chirp': {
      // The gateway needs its token keys and Redis (refresh tokens, revocations) to start, though the bench's
      // requests are anonymous: a throwaway key and identity-assertion key, and the bench's own Redis.
      const keyFile = join(runDir, 'keys', 'tokens', 'bench.pem');
      if (!existsSync(keyFile)) {
        execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile], { stdio: 'ignore' });
      }
      // The identity-assertion keys are a folder of <kid>.key files (base64), as a mounted Secret would be.
      const identityKey = join(runDir, 'keys', 'identity', 'bench.key');
      if (!existsSync(identityKey)) {
        writeFileSync(identityKey, randomBytes(32).toString('base64'));
      }
      return {
        command: 'dotnet',
        args: [join(opt['chirp-dir'], 'Chirp.Gateway.dll')],
        cwd: opt['chirp-dir'],
        dotnet: true,
        env: {
          ASPNETCORE_ENVIRONMENT: 'Production',
          Urls: url,
          Supergraph__Path: supergraph,
          ConnectionStrings__Redis: `127.0.0.1:${ports.redis},abortConnect=false`,
          Tokens__KeyDirectory: join(runDir, 'keys', 'tokens'),
          IdentityAssertion__KeyDirectory: join(runDir, 'keys', 'identity'),
        },
      };
    }
    case 'apollo':
      return {
        command: 'node',
        args: [join(here, 'apollo-gateway.mjs'), '--supergraph', supergraph, '--host', '127.0.0.1', '--port', String(ports.gateway)],
        env: { NODE_ENV: 'production' },
      };
    case 'hive':
      return {
        command: 'node',
        args: [join(here, 'node_modules/@graphql-hive/gateway/dist/bin.js'), '--fork', '1', 'supergraph', supergraph,
          '-c', join(here, 'hive-gateway.config.mjs'), '--host', '127.0.0.1', '--port', String(ports.gateway)],
        env: { NODE_ENV: 'production' },
      };
    case 'ceiling':
      return {
        command: 'dotnet',
        args: [opt['ceiling-dll'], expectedDeep],
        cwd: dirname(opt['ceiling-dll']),
        dotnet: true,
        env: { Urls: url, ASPNETCORE_ENVIRONMENT: 'Production' },
      };
    default:
      throw new Error(`unknown gateway ${name}`);
  }
}

async function startGateway(name) {
  const spec = gatewayCommand(name);
  const child = startPinned(name, gatewayCore, spec.command, spec.args, { cwd: spec.cwd, env: spec.env });
  const url = `http://127.0.0.1:${ports.gateway}/graphql`;
  const answer = await waitForAnswer(url, deepQuery, child);
  return { child, pid: child.pid, url, answer, dotnet: spec.dotnet === true };
}

const results = { started: new Date().toISOString(), options: opt, machine: machineInfo(), gateways: {} };

function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const tryRun = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  };
  return {
    nproc: Number(tryRun('nproc', [])),
    cpu: cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? null,
    memTotalKb: Number(readFileSync('/proc/meminfo', 'utf8').match(/^MemTotal:\s+(\d+)/m)?.[1]),
    kernel: tryRun('uname', ['-r']),
    dotnetRuntimes: tryRun('dotnet', ['--list-runtimes'])?.split('\n').filter((l) => l.startsWith('Microsoft.AspNetCore.App')) ?? [],
    node: process.version,
    wrk: tryRun('sh', ['-c', 'wrk -v 2>&1 | head -n 1']),
    loadBefore: loadAverage(),
  };
}

async function main() {
  const redis = startPinned('redis', loadCore, 'redis-server', ['--port', String(ports.redis), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const subgraphs = startPinned('subgraphs', loadCore, 'node', [join(here, 'subgraphs.mjs'), '--port', String(ports.subgraphs)]);
  await waitForAnswer(`${subgraphsUrl}/products`, singleQuery, subgraphs, 30);
  void redis;

  // The one-subgraph query straight at its subgraph, for the gateways' added latency.
  const direct = await post(`${subgraphsUrl}/products`, singleQuery);
  const expectedSingle = join(out, 'expected-single.json');
  writeFileSync(expectedSingle, direct.body);
  await wrk(`${subgraphsUrl}/products`, { body: singleQuery, reference: expectedSingle, seconds: 3, connections: 1 });
  results.direct = await wrk(`${subgraphsUrl}/products`, { body: singleQuery, reference: expectedSingle, seconds: seconds('single-window'), connections: 1 });
  log(`direct to the products subgraph, 1 connection: p50 ${(results.direct.latency_us.p50 / 1000).toFixed(3)} ms`);

  // Rounds, interleaved: every gateway once per round, restarted each time, so a drift of the machine (another
  // program, thermal limits) touches every gateway alike; each figure is the median of the rounds.
  const names = opt.gateways.split(',').filter(Boolean);
  const rounds = Math.max(1, Number(opt.runs));
  const perRound = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const name of names) {
      log(`== ${name}${rounds > 1 ? ` (round ${round} of ${rounds})` : ''}: start, check, ${opt.warmup} s warm-up, ${opt.window} s measured at ${connections} connections`);
      const entry = (results.gateways[name] ??= {});
      const run = await measureRound(name, round, entry);
      perRound[name].push(run);
      if (run.failure) {
        entry.failure = run.failure;
        log(`${name}: ${run.failure}`);
      }
    }
  }

  for (const name of names) {
    const entry = results.gateways[name];
    const runs = perRound[name];
    entry.rounds = runs;
    for (const key of ['deep', 'single', 'singleC1']) {
      const median = medianMeasurement(runs.map((r) => r[key]).filter(Boolean));
      if (median) entry[key] = median;
    }
    const peaks = runs.map((r) => r.peakRssKb).filter(Boolean);
    if (peaks.length) entry.peakRssKb = Math.max(...peaks);
  }

  // Without --rate, the fixed rate is half the slowest gateway's throughput (its median), so it is below every
  // gateway's limit. One window per gateway: at a rate every gateway carries, the machine's drift matters little.
  const peers = names.filter((n) => n !== 'ceiling' && results.gateways[n]?.deep);
  if (peers.length > 0) {
    const slowest = Math.min(...peers.map((n) => results.gateways[n].deep.rps));
    const rate = opt.rate ? Number(opt.rate) : Math.max(1, Math.floor(slowest / 2));
    results.rate = rate;
    for (const name of peers) {
      log(`== ${name}: deep query at a fixed ${rate} requests/s for ${opt['latency-window']} s`);
      const gateway = await startGateway(name);
      try {
        const deep = referenceFor(name, gateway.answer, expectedDeep);
        await wrk(gateway.url, { body: deepQuery, reference: deep.file, seconds: seconds('warmup'), connections, rate });
        results.gateways[name].fixedRate = await measure(name, gateway, gateway.url, {
          body: deepQuery, reference: deep.file, seconds: seconds('latency-window'), connections, rate, counters: false,
        });
        log(summaryLine(`deep at ${rate}/s`, results.gateways[name].fixedRate));
      } catch (e) {
        results.gateways[name].fixedRateFailure = String(e.message ?? e);
      } finally {
        await stop(gateway.child);
      }
    }
  } else {
    results.rate = null;
  }

  results.machine.loadAfter = loadAverage();
  results.finished = new Date().toISOString();
  writeFileSync(join(out, 'result.json'), JSON.stringify(results, null, 2));
  const table = renderTable(results, names);
  writeFileSync(join(out, 'summary.txt'), table);
  log('');
  log(table);
  const wrong = Object.values(results.gateways).some((g) => g.failure || [g.deep, g.single, g.singleC1, g.fixedRate]
    .some((m) => m && (m.mismatches > 0 || m.errors > 0)));
  return wrong ? 1 : 0;
}

/** One round of one gateway: start it, check its answers, measure the deep query and the one-subgraph query. */
async function measureRound(name, round, entry) {
  const gateway = await startGateway(name);
  const run = {};
  try {
    const deep = referenceFor(name, gateway.answer, expectedDeep);
    entry.byteIdentical = deep.byteIdentical;
    const expectedSingle = join(out, 'expected-single.json');
    const single = name === 'ceiling' ? null : referenceFor(name, await post(gateway.url, singleQuery), expectedSingle);
    if (round === 1) {
      ({ fetches: entry.deepFetches, bytes: entry.deepSubgraphBytes } = await fetchesPerRequest(gateway.url, deepQuery));
      entry.singleFetches = single ? (await fetchesPerRequest(gateway.url, singleQuery)).fetches : null;
    }

    const tag = `${name}-round${round}`;
    await wrk(gateway.url, { body: deepQuery, reference: deep.file, seconds: seconds('warmup'), connections });
    run.deep = await measure(tag, gateway, gateway.url, {
      body: deepQuery, reference: deep.file, seconds: seconds('window'), connections, counters: false,
    });
    log(summaryLine('deep', run.deep));
    if (gateway.dotnet) {
      // The runtime's counters come from a second window of the same length and load. The counters session costs the
      // process CPU of its own (it polls the runtime's instruments every second), which the Node gateways do not
      // carry and which the first window's CPU per request must not include.
      const counted = await measure(tag, gateway, gateway.url, {
        body: deepQuery, reference: deep.file, seconds: seconds('window'), connections, counters: true,
      });
      log(summaryLine('deep, with the runtime counters attached', counted));
      run.deep.counters = counted.counters;
      run.deep.allocatedBytesPerRequest = counted.allocatedBytesPerRequest;
      run.deep.checked += counted.checked;
      run.deep.mismatches += counted.mismatches;
      run.deep.errors += counted.errors;
    }
    if (single) {
      await wrk(gateway.url, { body: singleQuery, reference: single.file, seconds: 3, connections });
      run.single = await measure(tag, gateway, gateway.url, {
        body: singleQuery, reference: single.file, seconds: seconds('single-window'), connections, counters: false,
      });
      log(summaryLine('one-subgraph', run.single));
      run.singleC1 = await measure(tag, gateway, gateway.url, {
        body: singleQuery, reference: single.file, seconds: seconds('single-window'), connections: 1, counters: false,
      });
      log(summaryLine('one-subgraph, 1 connection', run.singleC1));
    }
  } catch (e) {
    run.failure = String(e.message ?? e);
  } finally {
    run.peakRssKb = processStatusKb(gateway.pid, 'VmHWM');
    await stop(gateway.child);
  }
  return run;
}

/**
 * The median of each figure over the rounds (the middle value; the mean of the two middle ones for an even count).
 * Counts of checked, wrong and failed responses are summed; gen2 collections are the most any round saw, and a run
 * is harness-bound when any round was.
 */
function medianMeasurement(runs) {
  if (runs.length === 0) return null;
  const median = (pick) => {
    const values = runs.map(pick).filter((v) => typeof v === 'number' && !Number.isNaN(v)).sort((a, b) => a - b);
    if (values.length === 0) return undefined;
    const mid = Math.floor(values.length / 2);
    return values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  };
  const sum = (pick) => runs.reduce((a, m) => a + (pick(m) ?? 0), 0);
  const withCounters = runs.filter((m) => m.counters);
  return {
    runs: runs.length,
    requests: sum((m) => m.requests),
    checked: sum((m) => m.checked),
    mismatches: sum((m) => m.mismatches),
    errors: sum((m) => m.errors),
    rps: median((m) => m.rps),
    cpuMsPerRequest: median((m) => m.cpuMsPerRequest),
    gatewayCorePercent: median((m) => m.gatewayCorePercent),
    allocatedBytesPerRequest: median((m) => m.allocatedBytesPerRequest),
    latency_us: Object.fromEntries(Object.keys(runs[0].latency_us).map((k) => [k, median((m) => m.latency_us[k])])),
    coreBusy: Object.fromEntries(Object.keys(runs[0].coreBusy).map((k) => [k, median((m) => m.coreBusy[k])])),
    harnessBound: runs.some((m) => m.harnessBound),
    counters: withCounters.length ? {
      gcPauseShare: median((m) => m.counters?.gcPauseShare),
      gen0PerSecond: median((m) => m.counters?.gen0PerSecond),
      gen1PerSecond: median((m) => m.counters?.gen1PerSecond),
      gen2: Math.max(...withCounters.map((m) => m.counters.gen2)),
    } : undefined,
  };
}

function summaryLine(what, m) {
  const alloc = m.allocatedBytesPerRequest ? `, ${(m.allocatedBytesPerRequest / 1024).toFixed(0)} KB allocated/req` : '';
  return `   ${what}: ${m.rps.toFixed(1)} req/s, ${m.cpuMsPerRequest.toFixed(3)} CPU ms/req${alloc}, ` +
    `p50 ${(m.latency_us.p50 / 1000).toFixed(2)} ms, p99 ${(m.latency_us.p99 / 1000).toFixed(2)} ms, ` +
    `mismatches ${m.mismatches}/${m.checked}, errors ${m.errors}, ` +
    `load core ${m.coreBusy[loadCore].toFixed(0)} %${m.harnessBound ? ' (harness-bound)' : ''}`;
}

function renderTable(r, names) {
  const g = (name) => r.gateways[name] ?? {};
  const fmt = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));
  const ms = (us) => (us === undefined ? 'n/a' : (us / 1000).toFixed(2));
  const rows = [
    ['deep query, 50 connections: req/s', (n) => fmt(g(n).deep?.rps)],
    ['  gateway CPU ms/request', (n) => fmt(g(n).deep?.cpuMsPerRequest, 3)],
    ['  allocated KB/request (runtime counter)', (n) => fmt(g(n).deep?.allocatedBytesPerRequest && g(n).deep.allocatedBytesPerRequest / 1024)],
    ['  GC pause share %', (n) => fmt(g(n).deep?.counters && 100 * g(n).deep.counters.gcPauseShare)],
    ['  gen0 / gen1 per s, gen2 in window (most)', (n) => (g(n).deep?.counters
      ? `${fmt(g(n).deep.counters.gen0PerSecond)} / ${fmt(g(n).deep.counters.gen1PerSecond)} / ${g(n).deep.counters.gen2}` : 'n/a')],
    ['  subgraph fetches/request', (n) => fmt(g(n).deepFetches, 2)],
    ['  subgraph response KB/request', (n) => fmt(g(n).deepSubgraphBytes && g(n).deepSubgraphBytes / 1024)],
    ['  p50 / p99 ms at 50 connections', (n) => (g(n).deep ? `${ms(g(n).deep.latency_us.p50)} / ${ms(g(n).deep.latency_us.p99)}` : 'n/a')],
    [`deep query at ${r.rate ?? '?'} req/s: p50 / p99 ms`, (n) => (g(n).fixedRate
      ? `${ms(g(n).fixedRate.latency_us.p50)} / ${ms(g(n).fixedRate.latency_us.p99)}` : 'n/a')],
    ['  achieved req/s', (n) => fmt(g(n).fixedRate?.rps)],
    ['peak RSS MB (VmHWM)', (n) => fmt(g(n).peakRssKb && g(n).peakRssKb / 1024)],
    ['one-subgraph query, 50 connections: req/s', (n) => fmt(g(n).single?.rps)],
    ['  gateway CPU ms/request', (n) => fmt(g(n).single?.cpuMsPerRequest, 3)],
    ['  subgraph fetches/request', (n) => fmt(g(n).singleFetches, 2)],
    ['one-subgraph query, 1 connection: p50 ms', (n) => (g(n).singleC1 ? ms(g(n).singleC1.latency_us.p50) : 'n/a')],
    ['  added to the direct call (p50 / mean ms)', (n) => (g(n).singleC1 && r.direct
      ? `${ms(g(n).singleC1.latency_us.p50 - r.direct.latency_us.p50)} / ${ms(g(n).singleC1.latency_us.mean - r.direct.latency_us.mean)}` : 'n/a')],
    ['  gateway CPU ms/request', (n) => fmt(g(n).singleC1?.cpuMsPerRequest, 3)],
    ['responses checked / wrong', (n) => {
      const ms2 = [g(n).deep, g(n).single, g(n).singleC1, g(n).fixedRate].filter(Boolean);
      if (g(n).failure) return 'FAILED';
      return `${ms2.reduce((a, m) => a + m.checked, 0)} / ${ms2.reduce((a, m) => a + m.mismatches + m.errors, 0)}`;
    }],
    ['load core busy % (deep window)', (n) => (g(n).deep ? `${fmt(g(n).deep.coreBusy[loadCore], 0)}${g(n).deep.harnessBound ? ' HARNESS-BOUND' : ''}` : 'n/a')],
    ['gateway core busy % / gateway process %', (n) => (g(n).deep
      ? `${fmt(g(n).deep.coreBusy[gatewayCore], 0)} / ${fmt(g(n).deep.gatewayCorePercent, 0)}` : 'n/a')],
  ];
  const labelWidth = Math.max(...rows.map(([label]) => label.length)) + 2;
  const columns = names;
  const width = 22;
  const lines = [];
  lines.push(`Federation bench, ${r.started} (medians of ${opt.runs} interleaved rounds; window ${opt.window} s, warm-up ${opt.warmup} s, gateway on core ${gatewayCore}, ` +
    `load and subgraphs on core ${loadCore}; load average ${r.machine.loadBefore} before, ${r.machine.loadAfter} after)`);
  lines.push(`direct call to the products subgraph, 1 connection: p50 ${ms(r.direct?.latency_us.p50)} ms, mean ${ms(r.direct?.latency_us.mean)} ms`);
  lines.push('');
  lines.push(''.padEnd(labelWidth) + columns.map((c) => c.padStart(width)).join(''));
  for (const [label, value] of rows) {
    lines.push(label.padEnd(labelWidth) + columns.map((c) => value(c).padStart(width)).join(''));
  }
  if (r.gateways.chirp?.deep) {
    lines.push('');
    lines.push('Chirp against each peer (deep query: throughput x, CPU/request fraction; one-subgraph query: CPU/request fraction):');
    for (const peer of ['apollo', 'hive', 'ceiling']) {
      const p = r.gateways[peer];
      if (!p?.deep) continue;
      const c = r.gateways.chirp;
      const parts = [`req/s ${fmt(c.deep.rps / p.deep.rps, 3)}x`, `CPU/req ${fmt(c.deep.cpuMsPerRequest / p.deep.cpuMsPerRequest, 3)}`];
      if (c.single && p.single) parts.push(`one-subgraph CPU/req ${fmt(c.single.cpuMsPerRequest / p.single.cpuMsPerRequest, 2)}`);
      lines.push(`  ${peer}: ${parts.join(', ')}`);
    }
  }
  const bound = names.filter((n) => g(n).deep?.harnessBound);
  if (bound.length) {
    lines.push('');
    lines.push(`HARNESS-BOUND: the load core was over 85 % busy while measuring ${bound.join(', ')}; those figures say more about the machine.`);
  }
  return lines.join('\n') + '\n';
}

let status = 2;
try {
  status = await main();
} catch (e) {
  console.error(`error: ${e.stack ?? e}`);
  writeFileSync(join(out, 'result.json'), JSON.stringify({ ...results, error: String(e.message ?? e) }, null, 2));
} finally {
  await stopAll();
}
process.exit(status);
