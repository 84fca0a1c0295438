// Drives the gateway's GraphQL IDE (Banana Cake Pop 18) in Debian's headless Chromium, one command at a time.
//
// Input: JSON commands, one a line on stdin. Output: one JSON reply line on stdout per command, in order:
//   {"ok":true, ...}  or  {"ok":false,"error":"..","screenshot":"<png>","log":["..", ...]}
// "log" holds the page's recent network, WebSocket and console activity, for finding out why a step failed.
//
// Commands:
//   {"op":"open","url":"http://127.0.0.1:5000/graphql/","screenshots":"<folder>"}
//       Starts Chromium with a fresh profile, opens the IDE and creates a document; done when the IDE has
//       loaded the schema. Only loopback addresses are reachable from the browser.
//   {"op":"connect","endpoint":"http://127.0.0.1:5000/graphql","token":"<jwt>","protocol":"graphql-transport-ws"}
//       Connection Settings: HTTP endpoint, subscription protocol (auto, graphql-transport-ws, graphql-sse,
//       graphql-ws) and, when "token" is given, Bearer authorization. Done when the schema is loaded again.
//   {"op":"run","query":"{ __typename }"}
//       Puts the operation in the editor and presses Run; done when the IDE sent exactly that operation
//       (HTTP request, WebSocket "subscribe" message or graphql-sse request).
//   {"op":"waitForResponse","contains":["\"Query\""],"timeoutMs":10000}
//       Waits until the response pane shows every string; replies with the pane's text.
//   {"op":"screenshot","name":"step"}
//       Saves <screenshots>/<name>.png; replies with its path.
// It closes the browser and exits when stdin ends or on SIGTERM.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const CHROMIUM = '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 30_000;
// Editor changes reach the IDE's document state after a short debounce; Run before that sends the old text.
const EDITOR_SETTLE_MS = 1_000;

const REQUEST_EDITOR = '.monaco-editor[data-uri^="file:///operations/"]';
const RESPONSE_EDITOR = '.monaco-editor[data-uri^="inmemory://"]';
const RUN_BUTTON = 'button[aria-label^="Run Operation"]';
const SETTINGS_BUTTON = 'button[aria-label="Connection Settings"]';
const STATUS_BAR = '[data-section-name="footer"]';

let context;
let page;
let profile;
let screenshots = os.tmpdir();
const activity = [];
const sentOperations = [];

function note(line) {
  activity.push(`${new Date().toISOString().slice(11, 23)} ${line}`.slice(0, 600));
  if (activity.length > 200) activity.shift();
}

function isLoopback(url) {
  try {
    const { protocol, hostname } = new URL(url);
    if (protocol === 'data:' || protocol === 'blob:') return true;
    return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
  } catch {
    return false;
  }
}

function queryOf(json) {
  try {
    const body = JSON.parse(json);
    return typeof body?.query === 'string' ? body.query : undefined;
  } catch {
    return undefined;
  }
}

// Page assets say nothing about a failed step; GraphQL traffic does.
function isAsset(url) {
  return /\/(static\/|favicon|manifest\.webmanifest|service-worker\.js|apple-touch-icon)/.test(url);
}

function watch(target) {
  target.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') note(`console ${m.type()}: ${m.text()}`); });
  target.on('pageerror', (e) => note(`page error: ${e.message}`));
  target.on('request', (r) => {
    if (isAsset(r.url())) return;
    note(`http> ${r.method()} ${r.url()} accept=${r.headers().accept ?? ''}`);
    const query = r.method() === 'POST' ? queryOf(r.postData() ?? '') : new URL(r.url()).searchParams.get('query');
    if (query) sentOperations.push(query);
  });
  target.on('response', (r) => { if (!isAsset(r.url())) note(`http< ${r.status()} ${r.url()} ${r.headers()['content-type'] ?? ''}`); });
  target.on('requestfailed', (r) => note(`http! ${r.url()} ${r.failure()?.errorText ?? ''}`));
  target.on('websocket', (ws) => {
    note(`ws open ${ws.url()}`);
    ws.on('framesent', (f) => {
      const text = String(f.payload);
      note(`ws> ${text}`);
      try {
        const message = JSON.parse(text);
        if ((message.type === 'subscribe' || message.type === 'start') && typeof message.payload?.query === 'string') {
          sentOperations.push(message.payload.query);
        }
      } catch {
        // Not JSON: nothing to record beyond the note.
      }
    });
    ws.on('framereceived', (f) => note(`ws< ${String(f.payload)}`));
    ws.on('socketerror', (e) => note(`ws error ${e}`));
    ws.on('close', () => note(`ws closed ${ws.url()}`));
  });
}

// The status bar says "Schema available" once the introspection result is in.
function schemaLoaded() {
  return page.locator(STATUS_BAR).getByText('Schema available', { exact: true }).waitFor();
}

async function open({ url, screenshots: folder }) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (scripts/test does this)`);
  if (folder) {
    screenshots = folder;
    fs.mkdirSync(screenshots, { recursive: true });
  }
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chirp-ide-profile-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    // The IDE's service worker would answer requests outside the routing below and reload the page.
    serviceWorkers: 'block',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-quic', '--no-first-run',
      // The IDE posts telemetry to its vendor: no name resolves but the loopback ones.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
  });
  await context.route('**/*', (route) => (isLoopback(route.request().url()) ? route.continue() : route.abort('blockedbyclient')));
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  page = context.pages()[0] ?? (await context.newPage());
  watch(page);
  await page.goto(url);
  await page.getByRole('button', { name: 'Create Document' }).click();
  await page.locator(REQUEST_EDITOR).waitFor();
  await schemaLoaded();
  return {};
}

async function connect({ endpoint, token, protocol }) {
  await page.locator(SETTINGS_BUTTON).click();
  await page.getByRole('tab', { name: 'General' }).click();
  // Applying the dialog turns a relative endpoint (what bcp-config.json gives) into "https://graphql".
  await page.locator('#endpoint').fill(endpoint);
  if (protocol) await page.locator('#subscriptionProtocol').selectOption(protocol);
  if (token) {
    await page.getByRole('tab', { name: 'Authorization' }).click();
    await page.locator('#auth-flow').selectOption('bearer');
    await page.locator('#token').fill(token);
  }
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('#endpoint').waitFor({ state: 'detached' });
  await schemaLoaded();
  return {};
}

async function run({ query }) {
  await page.locator(REQUEST_EDITOR).click();
  await page.keyboard.press('Control+A');
  // insertText skips the editor's bracket auto-closing and suggestions, which typing key by key would trigger.
  await page.keyboard.insertText(query);
  await page.waitForTimeout(EDITOR_SETTLE_MS);
  const before = sentOperations.length;
  await page.locator(RUN_BUTTON).click();
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const sent = sentOperations.slice(before);
    if (sent.includes(query)) return {};
    if (sent.length > 0) throw new Error(`the IDE sent ${JSON.stringify(sent)} instead of ${JSON.stringify(query)}`);
    await page.waitForTimeout(50);
  }
  throw new Error('the IDE sent no operation after Run');
}

async function responseText() {
  const editor = page.locator(RESPONSE_EDITOR);
  // Monaco renders spaces in its view as no-break spaces.
  return (await editor.count()) === 0 ? '' : (await editor.innerText()).replace(/\u00a0/g, ' ');
}

async function waitForResponse({ contains, timeoutMs }) {
  const wanted = Array.isArray(contains) ? contains : [contains];
  const deadline = Date.now() + (timeoutMs ?? STEP_TIMEOUT_MS);
  let text = '';
  for (;;) {
    text = await responseText();
    if (wanted.every((w) => text.includes(w))) return { text };
    if (Date.now() >= deadline) break;
    await page.waitForTimeout(100);
  }
  throw new Error(`the response pane does not show ${JSON.stringify(wanted.filter((w) => !text.includes(w)))}; it shows:\n${text}`);
}

async function screenshot({ name }) {
  const file = path.join(screenshots, `${String(name).replace(/[^\w.-]/g, '_')}.png`);
  await page.screenshot({ path: file });
  return { path: file };
}

const ops = { open, connect, run, waitForResponse, screenshot };

let closing;
function close() {
  closing ??= (async () => {
    try {
      await context?.close();
    } finally {
      if (profile) fs.rmSync(profile, { recursive: true, force: true });
    }
  })();
  return closing;
}

async function handle(line) {
  let command;
  try {
    command = JSON.parse(line);
  } catch (e) {
    return { ok: false, error: `not JSON: ${e.message}` };
  }
  const op = ops[command?.op];
  if (!op) return { ok: false, error: `unknown op ${JSON.stringify(command?.op)}` };
  if (command.op !== 'open' && !page) return { ok: false, error: 'the first command must be "open"' };
  try {
    return { ok: true, ...(await op(command)) };
  } catch (e) {
    const reply = { ok: false, error: e.message, log: activity.slice(-40) };
    if (page) {
      reply.screenshot = path.join(screenshots, `failed-${command.op}-${Date.now()}.png`);
      await page.screenshot({ path: reply.screenshot }).catch(() => { delete reply.screenshot; });
    }
    return reply;
  }
}

process.on('SIGTERM', () => close().finally(() => process.exit(0)));

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (line.trim() === '') continue;
  process.stdout.write(JSON.stringify(await handle(line)) + '\n');
}
await close();
