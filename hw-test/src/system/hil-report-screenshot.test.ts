// The HIL report page in a real browser (issue 16 item 4): each fixture run (passing, failing, broken) rendered with
// renderHilHtml, written to disk and opened from file:// in Debian's headless Chromium through playwright-core. No
// http(s) request may leave the page (each is aborted, and one is a failure); the four charts must lay out with a
// size, the event labels must be there as SVG text. The full-page PNGs are kept in out/test/hil-report-*.png
// (git-ignored, beside the field test's report.png) for people to look at.
import test from 'ava';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderHilHtml } from '../hil/html.js';
import { sampleHilRuns } from '../hil/report-fixture.js';
import { openOfflineBrowser, SCREENSHOT_DIR, type OfflineBrowser } from './offline-browser.js';

let browser: OfflineBrowser | undefined;
const dirs: string[] = [];

test.after.always(async () => {
  await browser?.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

test('HIL report pages render offline in headless Chromium: 4 charts laid out, faults labelled, PNGs kept', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ln-hil-report-'));
  dirs.push(dir);
  browser = await openOfflineBrowser();
  const { page, fetched } = browser;

  for (const run of sampleHilRuns()) {
    const file = join(dir, `${run.scenario}.html`);
    await writeFile(file, await renderHilHtml(run));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

    const charts = await page.locator('figure.chart > svg').evaluateAll((svgs) =>
      svgs.map((s) => {
        const b = s.getBoundingClientRect();
        return { label: s.parentElement?.getAttribute('data-chart') ?? '', width: b.width, height: b.height };
      }),
    );
    t.deepEqual(
      charts.map((c) => c.label),
      ['power', 'setpoint', 'outbox', 'link'],
      run.scenario,
    );
    for (const c of charts)
      t.true(c.width > 100 && c.height > 50, `${run.scenario} ${c.label}: ${c.width} × ${c.height} px`);

    // the shared time axis: every chart's x axis starts at the same x on the page and has the same length
    const axes = await page.locator('figure.chart > svg').evaluateAll((svgs) =>
      svgs.map((s) => {
        const b = s.querySelector('g[aria-label^="X-axis"] .role-axis-domain')?.getBoundingClientRect();
        return b ? `${Math.round(b.left)}+${Math.round(b.width)}` : 'no x axis';
      }),
    );
    t.is(new Set(axes).size, 1, `${run.scenario}: x axes ${axes.join(', ')}`);
    t.not(axes[0], 'no x axis');

    if (run.scenario === 'power-cut-storm') {
      const label = page.locator('figure[data-chart="power"] svg text', { hasText: 'kill9 a1 ×50' }).first();
      const box = await label.boundingBox();
      t.truthy(box && box.height > 0, 'the kill storm is labelled on the power chart');
    }
    if (run.broke) {
      t.true(await page.getByRole('alert').isVisible());
      t.is(await page.locator('figure.chart svg text', { hasText: 'no data' }).count(), 4);
    }

    const png = join(SCREENSHOT_DIR, `hil-report-${run.scenario}.png`);
    await page.screenshot({ path: png, fullPage: true });
    t.true((await stat(png)).size > 10_000, png);
    t.log(`screenshot: ${png}`);
  }
  t.deepEqual(fetched, [], 'the pages fetched nothing over the network');
  await browser.close();
});
