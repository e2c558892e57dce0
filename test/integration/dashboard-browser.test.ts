/**
 * The lab's dashboard in a real headless browser (Debian's chromium driven by puppeteer-core): a real
 * `iscsi-sim lab`, its page loads with no console errors and shows the lab's pair; qemu-img writes
 * through the primary's portal and the page's own state (window.dashboard: the samples and the uPlot
 * charts' data) shows the lag and the throughput move; a fault rule added on the primary is listed.
 * The screenshot is kept under test-output/.
 */
import t from 'tap';
import { existsSync, mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { repoRoot, tempDir } from '../unit/replication/helpers.ts';
import { startLab } from './support/lab-process.ts';
import { missingTools, run } from './support/tools.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MiB = 1024 * 1024;
const WRITE_BYTES = 96 * MiB;
const SCREENSHOT_DIR = join(repoRoot, 'test-output', 'dashboard');

/** What the test reads of the page (web/dashboard/dashboard.js keeps it in window.dashboard). */
interface PageView {
  connected: boolean;
  pairs: Array<{ pairId: string; phase: string; source: string; target: string }>;
  systems: string[];
  samples: Array<{ t: number; pair?: { rpoSeconds: number | null; bytesBehind: number; throughputBytesPerSecond: number } }>;
  charts: Record<string, { ids: string[]; points: number } | undefined>;
  pairRow: string;
}

declare global {
  interface Window { dashboard: any } // eslint-disable-line @typescript-eslint/no-explicit-any
}

const skip = !existsSync(CHROMIUM) ? `chromium not found at ${CHROMIUM} (scripts/setup.sh installs Debian's chromium; or set CHROMIUM_PATH)`
  : missingTools({ 'redis-server': 'redis-server', 'qemu-img': 'qemu-utils' });

t.test('the lab dashboard in chromium: no console errors, the pair, a lag plot that moves after a write', { skip }, async (t) => {
  const dir = await tempDir(t, 'iscsi-sim-dash-');
  const lab = await startLab(t, { stateDir: join(dir, 'lab'), size: '128M' });
  const { ready } = lab;
  t.match(lab.output(), `lab dashboard: ${ready.dashboardUrl}`, 'the lab printed its dashboard URL');
  const [pair] = ready.pairs;
  t.ok(pair, 'the lab made its pair');

  const browser: Browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    // Root in a container: no sandbox; new headless mode; /dev/shm is small in containers.
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1000 });
  const problems: string[] = [];
  page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); });
  page.on('pageerror', (error) => problems.push(`page error: ${(error as Error).message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  page.on('response', (response) => { if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`); });

  await page.goto(ready.dashboardUrl, { waitUntil: 'load', timeout: 60_000 });
  const view = (): Promise<PageView> => page.evaluate((pairId: string) => {
    const d = window.dashboard;
    const charts: Record<string, { ids: string[]; points: number } | undefined> = {};
    for (const [name, chart] of Object.entries<{ ids: string[]; data: unknown[][] }>(d.charts)) charts[name] = { ids: chart.ids, points: chart.data[0]!.length };
    return {
      connected: d.connected,
      pairs: d.state?.pairs ?? [],
      systems: (d.state?.systems ?? []).map((s: { name: string }) => s.name),
      samples: d.samples.map((s: { t: number; pairs: Record<string, PageView['samples'][number]['pair']> }) => ({ t: s.t, pair: s.pairs[pairId] })),
      charts,
      pairRow: document.querySelector(`#pairs tr[data-pair="${pairId}"]`)?.textContent ?? '',
    };
  }, pair!.pairId);
  await page.waitForFunction((pairId: string) => window.dashboard.state?.pairs.some((p: { pairId: string; phase: string }) => p.pairId === pairId && p.phase === 'streaming'), { timeout: 60_000 }, pair!.pairId);
  const before = await view();
  t.ok(before.connected, 'the live stream is connected');
  t.same(before.systems, ready.systems.map((s) => s.name), 'both systems');
  t.match(before.pairRow, pair!.pairId, "the pairs table shows the lab's pair");
  t.match(before.pairRow, 'streaming');
  t.match(before.pairRow, `${ready.systems[0]!.name}:${ready.systems[0]!.targets[0]!.iqn}/0`, 'with its source');
  t.same(before.charts.bytesBehind?.ids, [pair!.pairId], 'the bytes-behind plot has the pair as its series');

  // Random data (incompressible, every grain changed) through the primary's portal.
  const source = join(dir, 'random.img');
  const file = await open(source, 'w');
  for (let at = 0; at < WRITE_BYTES; at += 4 * MiB) await file.write(randomBytes(4 * MiB), 0, 4 * MiB, at);
  await file.close();
  const writeStart = Date.now() / 1000;
  const primary = ready.systems[0]!;
  const write = await run('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', source, `iscsi://127.0.0.1:${primary.portals[0]!.port}/${primary.targets[0]!.iqn}/0`], 300_000);
  t.equal(write.code, 0, `qemu-img wrote ${WRITE_BYTES / MiB} MiB to the primary`, { stderr: write.stderr });

  // The page's samples after the write began: the lag rose above 0 and the replica caught up again.
  const moved = await page.waitForFunction((pairId: string, since: number) => {
    const after = window.dashboard.samples.filter((s: { t: number }) => s.t >= since).map((s: { pairs: Record<string, { bytesBehind: number; rpoSeconds: number | null; throughputBytesPerSecond: number }> }) => s.pairs[pairId]).filter(Boolean);
    const lagged = after.some((p: { bytesBehind: number; rpoSeconds: number | null }) => p.bytesBehind > 0 || (p.rpoSeconds ?? 0) > 0);
    const shipped = after.some((p: { throughputBytesPerSecond: number }) => p.throughputBytesPerSecond > 0);
    const last = after[after.length - 1];
    return lagged && shipped && last !== undefined && last.bytesBehind === 0;
  }, { timeout: 180_000, polling: 500 }, pair!.pairId, writeStart).then(() => true, () => false);
  const after = await view();
  const since = after.samples.filter((s) => s.t >= writeStart);
  const peakBehind = Math.max(...since.map((s) => s.pair?.bytesBehind ?? 0));
  const peakRpo = Math.max(...since.map((s) => s.pair?.rpoSeconds ?? 0));
  const peakThroughput = Math.max(...since.map((s) => s.pair?.throughputBytesPerSecond ?? 0));
  t.ok(moved, `the lag plot moved: up to ${peakBehind} bytes behind, RPO up to ${peakRpo.toFixed(2)} s, ${(peakThroughput / MiB).toFixed(1)} MiB/s shipped, then back to 0 behind`);
  t.ok(after.charts.bytesBehind && after.charts.bytesBehind.points === after.samples.length, `the uPlot chart holds every sample (${after.charts.bytesBehind?.points} points)`);
  t.ok(after.samples.length > before.samples.length, `new samples arrived live (${before.samples.length} → ${after.samples.length})`);

  // A fault rule added on the primary shows in its Active faults card.
  const primaryHttp = primary.dashboardUrl.replace(/\/dashboard\/$/, '');
  const rule = await fetch(`${primaryHttp}/api/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ target: primary.targets[0]!.iqn, lun: 0, action: 'delay', delayMs: 1, op: 'read' }) });
  t.equal(rule.status, 201, 'a fault rule added on the primary');
  const faultShown = await page.waitForFunction(() => /delay on .*\(rule /.test(document.querySelector('[data-faults="primary"]')?.textContent ?? ''), { timeout: 30_000 }).then(() => true, () => false);
  t.ok(faultShown, 'the page lists it under Active faults');

  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const screenshot = join(SCREENSHOT_DIR, 'lab-dashboard.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  t.comment(`screenshot: ${screenshot}`);
  t.same(problems, [], 'no console errors, failed requests or error responses');
  await browser.close();
});
