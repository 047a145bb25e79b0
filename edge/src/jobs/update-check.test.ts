// The update check against a local node:http server (127.0.0.1, port 0) serving an index and bundles with Range
// support: the newest release for our arch (a delta from our own seq), bundle then .minisig renamed last, an
// interrupted download resumed with Range, the daily budget (stop, resume the next UTC day), a sha256 mismatch
// (part deleted, error), HTTP errors, and no packaged release.
import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLightNodeError } from '@lightnode/protocols';
import { bundleName, chooseUpdate, ownRelease, parseIndex, updateCheck, type OwnRelease } from './update-check.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const NOW = Date.UTC(2026, 11, 2, 6);
const DAY = 86_400_000;

interface Rig {
  url: string;
  stateDir: string;
  incoming: string;
  files: Map<string, Buffer>;
  requests: { path: string; range?: string }[];
  /** The next GET of this path sends only this many body bytes, then the connection is cut. */
  cut: Map<string, number>;
  run(o?: {
    release?: OwnRelease | null;
    maxBytesPerDay?: number;
    now?: number;
    index?: string;
  }): ReturnType<typeof updateCheck>;
}

async function rig(t: ExecutionContext, index?: (files: Map<string, Buffer>) => unknown): Promise<Rig> {
  const files = new Map<string, Buffer>();
  const full = randomBytes(50_000);
  const delta = randomBytes(5000);
  files.set('/dist/bundles/lightnode-0.3.0-amd64.tar', full);
  files.set('/dist/bundles/lightnode-0.3.0-amd64.tar.minisig', Buffer.from('untrusted comment: test\nRWQ...\n'));
  files.set('/dist/deltas/lightnode-0.3.0-from-3-amd64.tar', delta);
  files.set('/dist/deltas/lightnode-0.3.0-from-3-amd64.tar.minisig', Buffer.from('untrusted comment: test delta\n'));
  const doc = index?.(files) ?? {
    releases: [
      { version: '0.2.0', arch: 'amd64', seq: 5, url: 'bundles/old.tar', sha256: sha(full), deltas: [] },
      {
        version: '0.3.0',
        arch: 'amd64',
        seq: 7,
        url: 'bundles/lightnode-0.3.0-amd64.tar',
        sha256: sha(full),
        deltas: [
          { fromSeq: 2, url: '/dist/deltas/other.tar', sha256: sha(delta) },
          { fromSeq: 3, url: 'deltas/lightnode-0.3.0-from-3-amd64.tar', sha256: sha(delta) },
        ],
      },
      { version: '0.4.0', arch: 'arm64', seq: 9, url: 'bundles/arm.tar', sha256: sha(full), deltas: [] },
    ],
  };
  files.set('/dist/index.json', Buffer.from(JSON.stringify(doc)));
  const requests: Rig['requests'] = [];
  const cut = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    requests.push({ path, ...(req.headers.range ? { range: req.headers.range } : {}) });
    const body = files.get(path);
    if (!body) return void res.writeHead(404).end('not here');
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = m ? Number(m[1]) : 0;
    if (from >= body.length && m) return void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    const part = body.subarray(from);
    res.writeHead(m ? 206 : 200, {
      'content-length': String(part.length),
      ...(m ? { 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` } : {}),
    });
    const n = cut.get(path);
    if (n === undefined) return void res.end(part);
    cut.delete(path);
    res.write(part.subarray(0, n), () => setImmediate(() => res.socket?.destroy()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'ln-jobs-update-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  return {
    url,
    stateDir,
    incoming: join(stateDir, 'updates', 'incoming'),
    files,
    requests,
    cut,
    run: (o = {}) =>
      updateCheck({
        indexUrl: o.index ?? `${url}/dist/index.json`,
        stateDir,
        release: o.release === undefined ? { version: '0.1.0', arch: 'amd64', seq: 3 } : o.release,
        maxBytesPerDay: o.maxBytesPerDay ?? 20 * 1024 * 1024,
        now: () => o.now ?? NOW,
      }),
  };
}

test('parseIndex resolves relative urls; chooseUpdate: newest for our arch above our seq, its delta from our seq', (t) => {
  const idx = parseIndex(
    {
      releases: [
        { version: '1', arch: 'amd64', seq: 4, url: 'a.tar', sha256: 'a'.repeat(64) },
        {
          version: '2',
          arch: 'amd64',
          seq: 6,
          url: '../b.tar',
          sha256: 'b'.repeat(64),
          deltas: [{ fromSeq: 4, url: 'd.tar', sha256: 'c'.repeat(64) }],
        },
        { version: '3', arch: 'arm64', seq: 8, url: 'https://cdn.example/c.tar', sha256: 'd'.repeat(64) },
      ],
    },
    'http://h/x/y/index.json',
  );
  t.is(idx[1]!.url, 'http://h/x/b.tar');
  t.is(idx[2]!.url, 'https://cdn.example/c.tar');
  t.deepEqual(chooseUpdate(idx, { version: '1', arch: 'amd64', seq: 4 }), {
    version: '2',
    seq: 6,
    url: 'http://h/x/y/d.tar',
    sha256: 'c'.repeat(64),
    fromSeq: 4,
  });
  t.like(chooseUpdate(idx, { version: '0', arch: 'amd64', seq: 1 }), { seq: 6, url: 'http://h/x/b.tar' }); // no delta from 1
  t.is(chooseUpdate(idx, { version: '2', arch: 'amd64', seq: 6 }), null);
  t.is(chooseUpdate(idx, { version: '2', arch: 'riscv64', seq: 0 }), null);
  // bundles the updater refused for good are not fetched again: a refused delta falls back to its full bundle, a
  // refused full bundle to the next newer release
  const own4 = { version: '1', arch: 'amd64', seq: 4 };
  t.like(
    chooseUpdate(idx, own4, (u) => u.endsWith('/d.tar')),
    { seq: 6, url: 'http://h/x/b.tar' },
  );
  t.is(
    chooseUpdate(idx, own4, (u) => u.endsWith('/d.tar') || u.endsWith('/b.tar')),
    null,
  );
  t.like(
    chooseUpdate(idx, { version: '0', arch: 'amd64', seq: 1 }, (u) => u.endsWith('/b.tar')),
    {
      seq: 4,
      url: 'http://h/x/y/a.tar',
    },
  );
  t.throws(() => bundleName('http://h/x/b.tar.refused'), { message: /expected a bundle file name/ });
  t.throws(() => parseIndex({ releases: [{ version: '1', arch: 'amd64', seq: 'x' }] }, 'http://h/i.json'), {
    message: /http:\/\/h\/i\.json: releases\[0\]\.seq: expected an integer, received "x"/,
  });
  t.throws(() => parseIndex({}, 'http://h/i.json'), { message: /releases: expected an array/ });
  t.throws(() => bundleName('http://h/x/../'), { message: /expected a bundle file name/ });
  t.throws(() => bundleName('http://h/x/evil.minisig'), { message: /expected a bundle file name/ });
});

test('downloads the delta from our seq, then its .minisig, renamed last; a second run does nothing more', async (t) => {
  const r = await rig(t);
  const out = await r.run();
  t.like(out.details, { state: 'ready', version: '0.3.0', seq: 7, fromSeq: 3 });
  const name = 'lightnode-0.3.0-from-3-amd64.tar';
  t.deepEqual(readdirSync(r.incoming).sort(), [name, `${name}.minisig`]);
  t.deepEqual(readFileSync(join(r.incoming, name)), r.files.get(`/dist/deltas/${name}`));
  t.deepEqual(
    r.requests.map((q) => q.path),
    ['/dist/index.json', `/dist/deltas/${name}`, `/dist/deltas/${name}.minisig`],
  );
  t.like((await r.run()).details, { state: 'ready' });
  t.is(r.requests.length, 4); // only the index again
  // the full bundle when no delta from our seq is offered
  const full = await r.run({ release: { version: '0.1.0', arch: 'amd64', seq: 1 } });
  t.like(full.details, { state: 'ready', seq: 7 });
  t.false('fromSeq' in full.details!);
  t.true(existsSync(join(r.incoming, 'lightnode-0.3.0-amd64.tar.minisig')));
  t.like((await r.run({ release: { version: '0.3.0', arch: 'amd64', seq: 7 } })).details, { state: 'up-to-date' });
});

test('an interrupted download resumes with Range from the part file', async (t) => {
  const r = await rig(t);
  const path = '/dist/bundles/lightnode-0.3.0-amd64.tar';
  const own = { version: '0.1.0', arch: 'amd64', seq: 1 };
  r.cut.set(path, 20_000);
  await t.throwsAsync(() => r.run({ release: own }));
  const part = join(r.incoming, 'lightnode-0.3.0-amd64.tar.part');
  const got = statSync(part).size;
  t.true(got > 0 && got <= 20_000, `${got} bytes kept`);
  t.false(existsSync(join(r.incoming, 'lightnode-0.3.0-amd64.tar.minisig')));
  t.like((await r.run({ release: own })).details, { state: 'ready' });
  t.deepEqual(
    r.requests.filter((q) => q.path === path).map((q) => q.range),
    [undefined, `bytes=${got}-`],
  );
  t.deepEqual(readFileSync(join(r.incoming, 'lightnode-0.3.0-amd64.tar')), r.files.get(path));
  t.false(existsSync(part));
});

test('the daily budget: stops at it (not an error), nothing fetched again that day, resumes the next UTC day', async (t) => {
  const r = await rig(t);
  const own = { version: '0.1.0', arch: 'amd64', seq: 1 };
  const path = '/dist/bundles/lightnode-0.3.0-amd64.tar';
  const out = await r.run({ release: own, maxBytesPerDay: 30_000 });
  t.like(out.details, { state: 'budget', usedToday: 30_000 });
  const part = join(r.incoming, 'lightnode-0.3.0-amd64.tar.part');
  const indexBytes = r.files.get('/dist/index.json')!.length;
  t.is(statSync(part).size, 30_000 - indexBytes);
  t.deepEqual(JSON.parse(readFileSync(join(r.stateDir, 'updates', 'budget.json'), 'utf8')), {
    day: '2026-12-02',
    bytes: 30_000,
  });
  const n = r.requests.length;
  t.like((await r.run({ release: own, maxBytesPerDay: 30_000, now: NOW + 3_600_000 })).details, { state: 'budget' });
  t.is(r.requests.length, n); // the same day: nothing asked
  const next = await r.run({ release: own, maxBytesPerDay: 30_000, now: NOW + DAY });
  t.like(next.details, { state: 'ready' });
  t.is(r.requests.find((q) => q.path === path && q.range)?.range, `bytes=${30_000 - indexBytes}-`);
  t.deepEqual(readFileSync(join(r.incoming, 'lightnode-0.3.0-amd64.tar')), r.files.get(path));
});

test('a sha256 mismatch deletes the part file and fails, naming the URL and both hashes', async (t) => {
  const r = await rig(t, () => ({
    releases: [
      {
        version: '0.3.0',
        arch: 'amd64',
        seq: 7,
        url: 'bundles/lightnode-0.3.0-amd64.tar',
        sha256: sha(Buffer.from('other')),
      },
    ],
  }));
  const e = await t.throwsAsync(() => r.run());
  t.true(isLightNodeError(e, 'JOB_FAILED'));
  t.regex(
    e.message,
    /lightnode-0\.3\.0-amd64\.tar: sha256 [0-9a-f]{64} does not match the index's [0-9a-f]{64} \(.*\.part deleted\)/,
  );
  t.deepEqual(readdirSync(r.incoming), []);
});

test('HTTP errors are clear; without a packaged release the job does nothing (ok)', async (t) => {
  const r = await rig(t);
  await t.throwsAsync(() => r.run({ index: `${r.url}/dist/missing.json` }), {
    message: /JOB_FAILED: GET http:\/\/127\.0\.0\.1:\d+\/dist\/missing\.json: HTTP 404 Not Found/,
  });
  const skipped = await r.run({ release: null });
  t.deepEqual(skipped.details, {
    state: 'skipped',
    reason: 'not running from a packaged release ($LIGHTNODE_RELEASE unset)',
  });
  t.is(ownRelease({}), null);
  const dir = join(r.stateDir, 'release');
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'release.json'),
    JSON.stringify({ name: 'lightnode', version: '0.1.0', arch: 'arm64', seq: 12, node: '24.22.3' }),
  );
  t.deepEqual(ownRelease({ LIGHTNODE_RELEASE: dir }), { version: '0.1.0', arch: 'arm64', seq: 12 });
  t.throws(() => ownRelease({ LIGHTNODE_RELEASE: join(dir, 'nope') }), {
    message: /cannot read .*nope\/release\.json/,
  });
});
