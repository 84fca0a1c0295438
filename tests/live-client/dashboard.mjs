// Opens one page of the Aspire dashboard in Debian's headless Chromium, waits until it shows every given text and
// saves a screenshot. The dashboard is a Blazor Server app: its content arrives over a live connection after the
// page loads, so a plain `chromium --screenshot` would catch an empty page.
//
// Input: one JSON line on stdin: {"url":"http://127.0.0.1:18888/traces/detail/<trace id>","png":"<file>",
//   "texts":["chirp-gateway","smtp send"],"timeoutMs":30000}
// Output: one JSON line on stdout: {"ok":true,"png":"<file>"} or {"ok":false,"error":"..","png":"<file>"}, where the
// screenshot shows what the page held when it gave up. Only loopback addresses are reachable from the browser.
import { chromium } from 'playwright-core';
import readline from 'node:readline';

const CHROMIUM = '/usr/bin/chromium';

function isLoopback(url) {
  try {
    const { protocol, hostname } = new URL(url);
    if (protocol === 'data:' || protocol === 'blob:') return true;
    return hostname === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
  } catch {
    return false;
  }
}

const input = readline.createInterface({ input: process.stdin });
const line = await new Promise((resolve) => input.once('line', resolve));
input.close();
const { url, png, texts = [], timeoutMs = 30_000 } = JSON.parse(line);

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
let reply;
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  await page.route('**/*', (route) => (isLoopback(route.request().url()) ? route.continue() : route.abort()));
  await page.goto(url, { waitUntil: 'load', timeout: timeoutMs });
  const deadline = Date.now() + timeoutMs;
  for (const text of texts) {
    await page.getByText(text, { exact: false }).first().waitFor({ state: 'visible', timeout: Math.max(1, deadline - Date.now()) });
  }
  // The span bars animate in; let them settle before the picture.
  await page.waitForTimeout(1_000);
  await page.screenshot({ path: png });
  reply = { ok: true, png };
} catch (error) {
  try {
    const [page] = browser.contexts().flatMap((c) => c.pages());
    if (page) await page.screenshot({ path: png });
  } catch {
    // No picture of the failure; the error says enough.
  }
  reply = { ok: false, error: String(error?.message ?? error).slice(0, 2000), png };
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(reply) + '\n');
