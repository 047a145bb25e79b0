// The field-test report page in a real browser (issue 13 item 8): the fixture report written with writeReport,
// report.html opened from disk (file://) in Debian's headless Chromium through playwright-core. No http(s) request may
// leave the page (each is aborted, and one is a failure); the charts must lay out with a size and the PoD ids must be
// visible. The full-page PNG is kept in out/test/report.png (git-ignored) for people to look at.
import test from 'ava';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { sampleReport } from '../demo/report/fixture.js';
import { writeReport } from '../demo/report/html.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let context: BrowserContext | undefined;
const dirs: string[] = [];

test.after.always(async () => {
  await context?.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

test('report.html renders offline in headless Chromium: charts laid out, PoD ids visible, PNG kept', async (t) => {
  const report = sampleReport();
  const dir = await mkdtemp(join(tmpdir(), 'ln-report-'));
  const userData = await mkdtemp(join(tmpdir(), 'ln-chromium-'));
  dirs.push(dir, userData);
  const { html } = await writeReport(dir, report);

  context = await chromium.launchPersistentContext(userData, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
  const fetched: string[] = [];
  await context.route(/^https?:\/\//, async (route) => {
    fetched.push(route.request().url());
    await route.abort();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });

  const charts = await page.locator('figure.chart svg').evaluateAll((svgs) =>
    svgs.map((s) => {
      const b = s.getBoundingClientRect();
      return { label: s.parentElement?.getAttribute('data-chart') ?? '', width: b.width, height: b.height };
    }),
  );
  t.true(charts.length >= 3, `expected ≥ 3 chart SVGs, found ${charts.length}`);
  for (const c of charts) t.true(c.width > 100 && c.height > 100, `chart ${c.label}: ${c.width} × ${c.height} px`);
  t.deepEqual(
    charts.map((c) => c.label),
    ['loading', ...report.series.map((s) => `series ${s.pod}`), 'anchors'],
  );

  for (const pod of report.measurements.perPod.map((p) => p.pod)) {
    const first = page.getByText(pod, { exact: true }).first();
    t.true(await first.isVisible(), `PoD ${pod} is visible`);
  }
  // the PoD ids are the activation charts' titles too (SVG text, laid out by the browser)
  for (const s of report.series) {
    const box = await page
      .locator(`figure[data-chart="series ${s.pod}"] svg text`, { hasText: s.pod })
      .first()
      .boundingBox();
    t.truthy(box && box.width > 0, `the chart of ${s.pod} names it`);
  }

  const png = join(ROOT, 'out', 'test', 'report.png');
  await mkdir(join(ROOT, 'out', 'test'), { recursive: true });
  await page.screenshot({ path: png, fullPage: true });
  t.true((await stat(png)).size > 10_000);
  t.deepEqual(fetched, [], 'the page fetched nothing over the network');
  t.log(`screenshot: ${png}`);
  await context.close();
  context = undefined;
});
