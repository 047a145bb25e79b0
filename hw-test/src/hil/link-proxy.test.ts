// The link proxy against a loopback peer: counting (both directions, per connection, the fence `until`), then the
// shaping a client sees: added latency (±20 % of the asked value), stalls in order, blackhole, reset. Real sockets and
// timers (the proxy is a network element); every wait is on an event or the proxy's counters, none is a fixed sleep.
import test from 'ava';
import { createConnection, createServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { prng } from '@lightnode/protocols/testing';
import { chunkDelay, startLinkProxy, STALL_MS, type LinkProxy } from './link-proxy.js';

test('counts bytes, chunks and segments both ways, per connection, and fences on what the client wrote', async (t) => {
  // the peer answers every chunk with its length as 4 bytes
  const peers = new Set<Socket>();
  const server = createServer((s) => {
    peers.add(s);
    s.on('data', (d: Buffer) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(d.length);
      s.write(b);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const proxy = await startLinkProxy({ port: (server.address() as { port: number }).port });
  t.teardown(async () => {
    await proxy.close();
    for (const s of peers) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const roundTrip = async (c: Socket, bytes: number): Promise<void> => {
    const answered = new Promise<void>((r) => c.once('data', () => r()));
    c.write(Buffer.alloc(bytes, 0x61));
    await answered;
  };
  const c1 = createConnection({ host: '127.0.0.1', port: proxy.port });
  await new Promise<void>((r) => c1.once('connect', () => r()));
  await roundTrip(c1, 100);
  await roundTrip(c1, 3000);
  await proxy.until(() => proxy.connections()[0]?.up.bytes === c1.bytesWritten);
  const one = proxy.connections()[0]!;
  t.is(one.up.bytes, 3100);
  // the peer's replies (4 B per chunk it read) came back through the proxy's other direction
  t.true(one.down.bytes >= 8 && one.down.bytes % 4 === 0, `${one.down.bytes} B down`);
  t.true(one.up.segments >= 4, `${one.up.segments} segments for 100 B + 3000 B`);
  t.is(one.down.segments, one.down.chunks);
  c1.destroy();
  const c2 = createConnection({ host: '127.0.0.1', port: proxy.port });
  await new Promise<void>((r) => c2.once('connect', () => r()));
  await roundTrip(c2, 10);
  await proxy.until(() => proxy.connections().length === 2);
  t.deepEqual(proxy.connections()[1]!.up, { bytes: 10, chunks: 1, segments: 1 });
  t.is(proxy.total().up.bytes, 3110);
  c2.destroy();
  await t.throwsAsync(
    proxy.until(() => false, 20),
    { message: /not met within 20 ms/ },
  );
});

/** A loopback echo server that counts what it received and can push bytes to a client unasked. */
async function echoServer(t: { teardown(fn: () => Promise<void>): void }): Promise<{
  port: number;
  sockets: Socket[];
  received: () => number;
}> {
  const sockets: Socket[] = [];
  let received = 0;
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      received += d.length;
      s.write(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as { port: number }).port, sockets, received: () => received };
}

/** A client through the proxy: what came back (in order, with arrival times), and its close. */
async function client(proxy: LinkProxy): Promise<{
  sock: Socket;
  got: () => string;
  arrivals: { atMs: number; text: string }[];
  closed: Promise<void>;
  /** Writes `text` and resolves with the ms until the echo of all of it is back. */
  roundTrip: (text: string) => Promise<number>;
  /** Resolves once `n` bytes in all came back. */
  gotBytes: (n: number) => Promise<void>;
}> {
  const sock = createConnection({ host: '127.0.0.1', port: proxy.port });
  sock.on('error', () => {}); // a reset is expected in one test: its close is what we check
  const arrivals: { atMs: number; text: string }[] = [];
  let got = '';
  const waiters = new Set<() => void>();
  sock.on('data', (d: Buffer) => {
    arrivals.push({ atMs: performance.now(), text: d.toString() });
    got += d.toString();
    for (const w of [...waiters]) w();
  });
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const gotBytes = (n: number): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (got.length < n) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  const roundTrip = async (text: string): Promise<number> => {
    const t0 = performance.now();
    const back = gotBytes(got.length + text.length);
    sock.write(text);
    await back;
    return performance.now() - t0;
  };
  return { sock, got: () => got, arrivals, closed, roundTrip, gotBytes };
}

async function setUp(
  t: { teardown(fn: () => Promise<void>): void },
  opts: { seed?: number } = {},
): Promise<{ proxy: LinkProxy; echo: Awaited<ReturnType<typeof echoServer>> }> {
  const echo = await echoServer(t);
  const proxy = await startLinkProxy({ port: echo.port, ...opts });
  t.teardown(() => proxy.close());
  return { proxy, echo };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

test('chunkDelay: latency ± jitter, a stall of 0.2–3 s with the asked chance, the same draws from the same seed', (t) => {
  const shape = { latencyMs: 100, jitterMs: 30, lossPct: 25 };
  const run = (seed: number): { delayMs: number; stallMs: number }[] => {
    const rng = prng(seed);
    return Array.from({ length: 10_000 }, () => chunkDelay(shape, rng(), rng()));
  };
  const a = run(7);
  t.deepEqual(run(7), a);
  t.notDeepEqual(run(8), a);
  const stalls = a.filter((d) => d.stallMs > 0);
  t.true(Math.abs(stalls.length / a.length - 0.25) < 0.02, `${stalls.length} stalls in ${a.length}`);
  t.true(stalls.every((d) => d.stallMs >= STALL_MS.min && d.stallMs < STALL_MS.max));
  t.true(a.every((d) => d.delayMs - d.stallMs >= 70 && d.delayMs - d.stallMs <= 130));
  t.true(Math.abs(mean(a.map((d) => d.delayMs - d.stallMs)) - 100) < 2);
  t.deepEqual(chunkDelay({ latencyMs: 10, jitterMs: 50, lossPct: 0 }, 0, 0), { delayMs: 0, stallMs: 0 }); // never < 0
  t.is(chunkDelay({ latencyMs: 0, jitterMs: 0, lossPct: 100 }, 0.5, 0.999_999).stallMs > 2999, true);
});

test('latency: a client measures 200 ms added to each round trip (±20 %), split both ways or all on one', async (t) => {
  const { proxy } = await setUp(t);
  const c = await client(proxy);
  const n = 8;
  const rtts = async (): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await c.roundTrip(`ping-${i};`));
    return out;
  };
  const base = mean(await rtts());
  proxy.set({ latencyMs: 100 }); // one way, both directions
  const both = mean(await rtts()) - base;
  t.log(`base ${base.toFixed(1)} ms; added: ${both.toFixed(1)} ms (100 ms each way)`);
  t.true(Math.abs(both - 200) <= 40, `added ${both.toFixed(1)} ms (base ${base.toFixed(1)} ms)`);
  proxy.set({ latencyMs: 0, up: { latencyMs: 200 } });
  const upOnly = mean(await rtts()) - base;
  t.log(`added: ${upOnly.toFixed(1)} ms (200 ms up only)`);
  t.true(Math.abs(upOnly - 200) <= 40, `added ${upOnly.toFixed(1)} ms up only`);
  proxy.set({ up: {}, latencyMs: 100, jitterMs: 40 });
  const jittered = await rtts();
  t.log(`jittered round trips (100 ± 40 ms each way): ${jittered.map((x) => x.toFixed(0)).join(' ')} ms`);
  t.true(Math.abs(mean(jittered) - base - 200) <= 40, `jittered: ${jittered.map((x) => x.toFixed(0)).join(' ')}`);
  t.true(Math.max(...jittered) - Math.min(...jittered) > 10, 'the jitter varies the round trips');
  t.true(
    jittered.every((x) => x >= 120 - 2),
    'two delays of ≥ 60 ms each',
  );
  // every byte counted once each way, on the one connection
  const sent = c.sock.bytesWritten;
  await proxy.until(() => proxy.total().down.bytes === sent);
  t.is(proxy.total().up.bytes, sent);
  t.deepEqual(proxy.connections(), [proxy.total()]);
  t.is(c.got().length, sent);
  c.sock.destroy();
});

test('stall: with lossPct 100 each chunk holds the stream ≥ 0.2 s, and the bytes come back in order', async (t) => {
  const { proxy } = await setUp(t, { seed: 42 });
  const c = await client(proxy);
  proxy.set({ up: { lossPct: 100 } });
  const t0 = performance.now();
  const parts = ['first;', 'second;', 'third;'];
  for (const p of parts) {
    c.sock.write(p);
    // each part its own chunk at the proxy (the fence: the proxy has read everything written so far)
    await proxy.until(() => proxy.total().up.bytes === c.sock.bytesWritten);
  }
  await c.gotBytes(c.sock.bytesWritten);
  t.is(c.got(), parts.join(''));
  t.is(proxy.stats().stalls.up, parts.length);
  t.is(proxy.stats().stalls.down, 0);
  const firstGap = c.arrivals[0]!.atMs - t0;
  t.log(
    `first echo after ${firstGap.toFixed(0)} ms; arrivals ${c.arrivals.map((a) => (a.atMs - t0).toFixed(0)).join(' ')} ms`,
  );
  t.true(firstGap >= STALL_MS.min - 2, `first echo after ${firstGap.toFixed(0)} ms`);
  t.true(firstGap <= STALL_MS.max + 500, `first echo after ${firstGap.toFixed(0)} ms`);
  proxy.set({ up: {} });
  t.true((await c.roundTrip('after;')) < STALL_MS.min, 'no stall once lossPct is back to 0');
  c.sock.destroy();
});

test('blackhole: nothing passes either way while the sockets stay open; cleared, what it held arrives in order, then new traffic', async (t) => {
  const { proxy, echo } = await setUp(t);
  const c = await client(proxy);
  t.is(await c.roundTrip('hello;').then(() => c.got()), 'hello;');
  proxy.set({ blackhole: true });
  c.sock.write('lost-up;');
  await proxy.until(() => proxy.stats().swallowed.up === 'lost-up;'.length);
  echo.sockets[0]!.write('lost-down;'); // the target talks unasked
  await proxy.until(() => proxy.stats().swallowed.down === 'lost-down;'.length);
  // a connection accepted during the blackhole does not reach the target yet
  const late = await client(proxy);
  await proxy.until(() => proxy.stats().accepted === 2);
  late.sock.write('late-lost;');
  await proxy.until(() => proxy.stats().swallowed.up === 'lost-up;late-lost;'.length);
  t.is(echo.received(), 'hello;'.length, 'the target got nothing more');
  t.is(echo.sockets.length, 1, 'the late connection has not reached the target');
  t.is(c.got(), 'hello;', 'the client got nothing back');
  t.is(late.got(), '');
  t.is(c.sock.readyState, 'open');
  t.is(late.sock.readyState, 'open');
  t.is(proxy.stats().open, 2);
  proxy.set({ blackhole: false });
  c.sock.write('again;');
  await c.gotBytes('hello;lost-down;lost-up;again;'.length);
  t.is(c.got(), 'hello;lost-down;lost-up;again;', 'the held bytes arrive (as TCP retransmits them), in order');
  late.sock.write('late-ok;');
  await late.gotBytes('late-lost;late-ok;'.length);
  t.is(late.got(), 'late-lost;late-ok;', 'what the late client sent reaches the target once connected');
  t.is(echo.sockets.length, 2);
  c.sock.destroy();
  late.sock.destroy();
});

test('reset: every client sees its connection closed, the target side too; new connections work', async (t) => {
  const { proxy, echo } = await setUp(t);
  const a = await client(proxy);
  const b = await client(proxy);
  await a.roundTrip('a;');
  await b.roundTrip('bb;');
  const serverClosed = echo.sockets.map(
    (s) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r()))),
  );
  t.is(proxy.reset(), 2);
  await Promise.all([a.closed, b.closed, ...serverClosed]);
  t.is(proxy.stats().open, 0);
  t.is(proxy.stats().resets, 2);
  t.deepEqual(
    proxy.connections().map((x) => [x.up.bytes, x.down.bytes]),
    [
      [2, 2],
      [3, 3],
    ],
  );
  const c = await client(proxy);
  await c.roundTrip('after-reset;');
  t.is(c.got(), 'after-reset;');
  t.is(proxy.total().up.bytes, 2 + 3 + 'after-reset;'.length);
  c.sock.destroy();
});

test('settings are checked: a negative latency or a loss over 100 % is INPUT_INVALID naming the key', async (t) => {
  const { proxy } = await setUp(t);
  t.throws(() => proxy.set({ lossPct: 101 }), { message: /INPUT_INVALID: link proxy: lossPct .* got 101/ });
  t.throws(() => proxy.set({ down: { latencyMs: -1 } }), { message: /down\.latencyMs .* got -1/ });
  t.deepEqual(proxy.settings(), { latencyMs: 0, jitterMs: 0, lossPct: 0, blackhole: false });
});
