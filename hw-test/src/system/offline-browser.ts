// Debian's headless Chromium (`.ci/run` installs it) through playwright-core, for the report screenshot tests: one
// persistent context in a throw-away profile, every http(s) request aborted and recorded (a page that fetches anything
// fails its test), and the folder where the PNGs are kept for people to look at (out/test, git-ignored).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where the screenshot tests keep their PNGs (repository root's out/test). */
export const SCREENSHOT_DIR = join(ROOT, 'out', 'test');
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

export interface OfflineBrowser {
  page: Page;
  /** Every http(s) URL a page asked for (each was aborted). */
  fetched: string[];
  /** Closes the browser and removes its profile (idempotent). */
  close(): Promise<void>;
}

/** Starts Chromium with a 1280 × 900 viewport, the network refused; creates SCREENSHOT_DIR. */
export async function openOfflineBrowser(): Promise<OfflineBrowser> {
  const userData = await mkdtemp(join(tmpdir(), 'ln-chromium-'));
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const context = await chromium.launchPersistentContext(userData, {
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
  let closed: Promise<void> | undefined;
  return {
    page,
    fetched,
    close: () =>
      (closed ??= (async () => {
        await context.close();
        await rm(userData, { recursive: true, force: true });
      })()),
  };
}
