/**
 * The update check (only with `updates.indexUrl`): the release index `index.json` (`{releases: [{version, arch, seq,
 * url, sha256, deltas: [{fromSeq, url, sha256}]}]}`, relative urls resolved against the index URL) → the newest
 * release for this arch with a seq above our own (a delta from our own seq when offered) → its bundle into
 * `<stateDir>/updates/incoming/<name>.part` (Range-resumed, within the daily budget), sha256 checked, renamed to
 * `<name>`, then `<name>.minisig` beside it, renamed last: the root-owned `lightnode-update.path` triggers on
 * `*.minisig` and applies it. The agent never applies anything itself. Our own release is
 * `$LIGHTNODE_RELEASE/release.json` (set by a release's `bin/lightnode`); without it the job does nothing.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LightNodeError } from '@lightnode/protocols';
import { DailyBudget, downloadResumable, sha256File } from './download.js';
import type { JobOutcome } from './runner.js';

export interface OwnRelease {
  version: string;
  arch: string;
  seq: number;
}

export interface IndexRelease {
  version: string;
  arch: string;
  seq: number;
  url: string;
  sha256: string;
  deltas: { fromSeq: number; url: string; sha256: string }[];
}

/** The chosen download: a full bundle, or a delta from `fromSeq`. */
export interface UpdateChoice {
  version: string;
  seq: number;
  url: string;
  sha256: string;
  fromSeq?: number;
}

const fail = (message: string, context: Record<string, unknown> = {}): never => {
  throw new LightNodeError('JOB_FAILED', message, context);
};

/** `$LIGHTNODE_RELEASE/release.json`, or null when the variable is unset (not a packaged release). */
export function ownRelease(env: NodeJS.ProcessEnv): OwnRelease | null {
  const dir = env.LIGHTNODE_RELEASE;
  if (!dir) return null;
  const file = join(dir, 'release.json');
  let r: Partial<OwnRelease>;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as Partial<OwnRelease>;
  } catch (e) {
    return fail(`cannot read ${file}: ${(e as Error).message}`, { file });
  }
  if (typeof r.version !== 'string' || typeof r.arch !== 'string' || !Number.isInteger(r.seq))
    fail(`${file}: expected {version, arch, seq}, received ${JSON.stringify(r)}`, { file });
  return { version: r.version!, arch: r.arch!, seq: r.seq! };
}

const SHA = /^[0-9a-f]{64}$/;

/** Checks an index document; urls resolved against `indexUrl`. JOB_FAILED names the index and the field. */
export function parseIndex(doc: unknown, indexUrl: string): IndexRelease[] {
  const bad = (path: string, what: string, v: unknown): never =>
    fail(`${indexUrl}: ${path}: expected ${what}, received ${JSON.stringify(v) ?? 'nothing'}`, { url: indexUrl });
  const releases = (doc as { releases?: unknown } | null)?.releases;
  if (!Array.isArray(releases)) return bad('releases', 'an array', releases);
  const url = (p: string, v: unknown): string => {
    if (typeof v !== 'string' || !v) return bad(p, 'a URL', v);
    try {
      return new URL(v, indexUrl).href;
    } catch {
      return bad(p, 'a URL', v);
    }
  };
  return releases.map((r: Record<string, unknown>, i) => {
    const p = `releases[${i}]`;
    if (typeof r !== 'object' || r === null) bad(p, 'an object', r);
    if (typeof r.version !== 'string') bad(`${p}.version`, 'a string', r.version);
    if (typeof r.arch !== 'string') bad(`${p}.arch`, 'a string', r.arch);
    if (!Number.isInteger(r.seq)) bad(`${p}.seq`, 'an integer', r.seq);
    if (typeof r.sha256 !== 'string' || !SHA.test(r.sha256)) bad(`${p}.sha256`, '64 hex digits', r.sha256);
    const deltas = r.deltas ?? [];
    if (!Array.isArray(deltas)) bad(`${p}.deltas`, 'an array', deltas);
    return {
      version: r.version as string,
      arch: r.arch as string,
      seq: r.seq as number,
      url: url(`${p}.url`, r.url),
      sha256: r.sha256 as string,
      deltas: (deltas as Record<string, unknown>[]).map((d, j) => {
        const q = `${p}.deltas[${j}]`;
        if (!Number.isInteger(d?.fromSeq)) bad(`${q}.fromSeq`, 'an integer', d?.fromSeq);
        if (typeof d.sha256 !== 'string' || !SHA.test(d.sha256)) bad(`${q}.sha256`, '64 hex digits', d.sha256);
        return { fromSeq: d.fromSeq as number, url: url(`${q}.url`, d.url), sha256: d.sha256 as string };
      }),
    };
  });
}

/** The newest release for `own.arch` with seq > `own.seq`; its delta from `own.seq` when offered. */
export function chooseUpdate(
  releases: readonly IndexRelease[],
  own: OwnRelease,
  refused: (url: string) => boolean = () => false,
): UpdateChoice | null {
  const newer = releases.filter((r) => r.arch === own.arch && r.seq > own.seq).sort((a, b) => b.seq - a.seq);
  // newest first; a bundle the device's updater refused for good (`<name>.refused` beside it) is not fetched again:
  // a refused delta falls back to its full bundle, a refused full bundle to the next newer release
  for (const best of newer) {
    const delta = best.deltas.find((d) => d.fromSeq === own.seq && !refused(d.url));
    if (!delta && refused(best.url)) continue;
    const pick = delta ?? best;
    return {
      version: best.version,
      seq: best.seq,
      url: pick.url,
      sha256: pick.sha256,
      ...(delta ? { fromSeq: delta.fromSeq } : {}),
    };
  }
  return null;
}

/** The file name in `incoming/`: the URL's last path segment (letters, digits, `._+-`; no `.part` / `.minisig` / `.refused`). */
export function bundleName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name) || /\.(part|minisig|tmp|refused)$/.test(name))
    fail(`${url}: expected a bundle file name at the end of the URL, received ${JSON.stringify(name)}`, { url });
  return name;
}

export interface UpdateCheckOptions {
  indexUrl: string;
  stateDir: string;
  release: OwnRelease | null;
  maxBytesPerDay: number;
  now: () => number;
  signal?: AbortSignal;
}

async function getJson(url: string, budget: DailyBudget, signal?: AbortSignal): Promise<unknown> {
  const res = await fetch(url, signal ? { signal } : {});
  const text = await res.text();
  budget.spend(Buffer.byteLength(text));
  budget.save();
  if (!res.ok) fail(`GET ${url}: HTTP ${res.status} ${res.statusText}`.trim(), { url, status: res.status });
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    return fail(`${url}: not JSON (${(e as Error).message})`, { url });
  }
}

export async function updateCheck(o: UpdateCheckOptions): Promise<JobOutcome> {
  if (!o.release)
    return { details: { state: 'skipped', reason: 'not running from a packaged release ($LIGHTNODE_RELEASE unset)' } };
  const own = o.release;
  const dir = join(o.stateDir, 'updates');
  const incoming = join(dir, 'incoming');
  mkdirSync(incoming, { recursive: true });
  const budget = new DailyBudget(join(dir, 'budget.json'), o.maxBytesPerDay, o.now);
  const base = { own: { version: own.version, seq: own.seq, arch: own.arch }, maxBytesPerDay: o.maxBytesPerDay };
  const over = (extra: Record<string, unknown>): JobOutcome => ({
    details: { ...base, ...extra, state: 'budget', usedToday: budget.usedToday(), note: 'resumes tomorrow (UTC)' },
  });
  if (budget.remaining() <= 0) return over({});
  const refused = (url: string): boolean => {
    try {
      return existsSync(join(incoming, `${bundleName(url)}.refused`));
    } catch {
      return false;
    }
  };
  const choice = chooseUpdate(parseIndex(await getJson(o.indexUrl, budget, o.signal), o.indexUrl), own, refused);
  if (!choice) return { details: { ...base, state: 'up-to-date', usedToday: budget.usedToday() } };
  const name = bundleName(choice.url);
  const file = join(incoming, name);
  const part = `${file}.part`;
  const sig = `${file}.minisig`;
  // a .part left from another (older) choice is dropped: one download at a time
  for (const f of readdirSync(incoming))
    if (f.endsWith('.part') && f !== `${name}.part` && f !== `${name}.minisig.part`)
      rmSync(join(incoming, f), { force: true });
  const target = {
    version: choice.version,
    seq: choice.seq,
    file,
    ...(choice.fromSeq !== undefined ? { fromSeq: choice.fromSeq } : {}),
  };
  if (existsSync(sig)) return { details: { ...base, ...target, state: 'ready', usedToday: budget.usedToday() } };
  if (!existsSync(file)) {
    const r = await downloadResumable({ url: choice.url, part, budget, ...(o.signal ? { signal: o.signal } : {}) });
    if (!r.complete) return over({ ...target, partBytes: r.partBytes });
    const got = await sha256File(part);
    if (got !== choice.sha256) {
      rmSync(part, { force: true });
      fail(`${choice.url}: sha256 ${got} does not match the index's ${choice.sha256} (${part} deleted)`, {
        url: choice.url,
        expected: choice.sha256,
        received: got,
      });
    }
    renameSync(part, file);
  }
  const r = await downloadResumable({
    url: `${choice.url}.minisig`,
    part: `${sig}.part`,
    budget,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (!r.complete) return over({ ...target, state: 'budget' });
  renameSync(`${sig}.part`, sig); // last: the path unit triggers on *.minisig
  return { details: { ...base, ...target, state: 'ready', usedToday: budget.usedToday() } };
}
