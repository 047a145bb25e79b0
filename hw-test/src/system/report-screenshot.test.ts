// The field-test report page in a real browser (issue 13 item 8): the fixture report written with writeReport,
// report.html opened from disk (file://) in Debian's headless Chromium through playwright-core. No http(s) request may
// leave the page (each is aborted, and one is a failure); the charts must lay out with a size and the PoD ids must be
// visible. The full-page PNG is kept in out/test/report.png (git-ignored) for people to look at.
import test from 'ava';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sampleReport } from '../demo/report/fixture.js';
import { writeReport } from '../demo/report/html.js';
import { openOfflineBrowser, SCREENSHOT_DIR, type OfflineBrowser } from './offline-browser.js';

let browser: OfflineBrowser | undefined;
const dirs: string[] = [];

test.after.always(async () => {
  await browser?.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

test('report.html renders offline in headless Chromium: charts laid out, PoD ids visible, PNG kept', async (t) => {
  const report = sampleReport();
  const dir = await mkdtemp(join(tmpdir(), 'ln-report-'));
  dirs.push(dir);
  const { html } = await writeReport(dir, report);

  browser = await openOfflineBrowser();
  const { page, fetched } = browser;
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

  const png = join(SCREENSHOT_DIR, 'report.png');
  await page.screenshot({ path: png, fullPage: true });
  t.true((await stat(png)).size > 10_000);
  t.deepEqual(fetched, [], 'the page fetched nothing over the network');
  t.log(`screenshot: ${png}`);
  await browser.close();
});
