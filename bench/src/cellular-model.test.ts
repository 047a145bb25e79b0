// The cellular bench's pure parts: the IP/TCP header model and the month arithmetic.
import test from 'ava';
import { parseAgentConfig } from '@lightnode/protocols';
import { CELLULAR_PROFILE, monthBytes, monthCounts, pingsPerGap } from './cellular-model.js';
import { cellularConfig } from './cellular-docs.js';
import {
  addChunk,
  diffCount,
  ipBytes,
  MSS_B,
  SEGMENT_HEADER_B,
  segmentsOf,
  TCP_CLOSE_B,
  TCP_OPEN_B,
  zeroCount,
} from '@lightnode/hw-test';

test('header model: 52 B per segment (IPv4 20 + TCP 20 + timestamps 12), MSS 1448, SYN/SYN-ACK 60 B', (t) => {
  t.is(SEGMENT_HEADER_B, 20 + 20 + 12);
  t.is(MSS_B, 1500 - SEGMENT_HEADER_B);
  t.is(TCP_OPEN_B, 60 + 60 + 52);
  t.is(TCP_CLOSE_B, 4 * 52);
  t.deepEqual(
    [0, 1, 1448, 1449, 2896, 2897].map((n) => segmentsOf(n)),
    [0, 1, 1, 2, 2, 3],
  );
});

test('ipBytes: payload + 52 B per data segment + a pure ACK for every second segment the other way', (t) => {
  // a keepalive cycle over TLS 1.3: PINGREQ and PINGRESP are 2 B each in a 22-B record (5 header + 1 type + 16 tag)
  const ping = zeroCount();
  addChunk(ping.up, 24);
  addChunk(ping.down, 24);
  t.deepEqual(ipBytes(ping), { up: 24 + 52 + 52, down: 24 + 52 + 52, total: 256, acksUp: 1, acksDown: 1 });
  // a 3000-B write is 3 segments, acknowledged by 2 pure ACKs
  const big = zeroCount();
  addChunk(big.up, 3000);
  t.deepEqual(big.up, { bytes: 3000, chunks: 1, segments: 3 });
  t.deepEqual(ipBytes(big), { up: 3000 + 3 * 52, down: 2 * 52, total: 3000 + 5 * 52, acksUp: 0, acksDown: 2 });
  // two chunks of 1000 B are two segments, not one
  const two = zeroCount();
  addChunk(two.down, 1000);
  addChunk(two.down, 1000);
  t.is(two.down.segments, 2);
  const later = zeroCount();
  addChunk(later.down, 1000);
  addChunk(later.down, 1000);
  addChunk(later.down, 5);
  t.deepEqual(diffCount(two, later).down, { bytes: 5, chunks: 1, segments: 1 });
});

test('keepalive: ceil(gap / keepalive) − 1 pings per idle gap; none when publishes come more often', (t) => {
  t.is(pingsPerGap(3_600_000, 240), 14);
  t.is(pingsPerGap(3_600_000, 250), 14);
  t.is(pingsPerGap(3_600_000, 3600), 0);
  t.is(pingsPerGap(60_000, 240), 0);
  t.is(pingsPerGap(3_600_000, 0), 0);
});

test('the cellular month: 43,200 samples in 720 batches, 10,080 pings, 750 statuses, 30 reconnects of which 30/7 full', (t) => {
  const c = monthCounts(CELLULAR_PROFILE);
  t.is(c.samples, 43_200);
  t.is(c.dataPublishes, 720);
  t.is(c.pings, 720 * 14);
  t.is(c.statuses, 720 + 30);
  t.is(c.fullConnects, 30 / 7);
  t.is(c.fullConnects + c.resumedConnects, 30);
  t.is(c.configAcks, 1);
  // the naive form: one publish per sample, so the link is never idle long enough for a ping
  const naive = monthCounts({ ...CELLULAR_PROFILE, batchMs: CELLULAR_PROFILE.sampleMs });
  t.is(naive.dataPublishes, 43_200);
  t.is(naive.pings, 0);
  t.is(naive.statuses, 750);
});

test('monthBytes: each count times its size, summed', (t) => {
  const m = monthBytes(monthCounts(CELLULAR_PROFILE), {
    data: 1000,
    ping: 256,
    status: 800,
    fullConnect: 7000,
    resumedConnect: 3500,
    configAck: 700,
  });
  t.deepEqual(m.parts, {
    data: 720_000,
    ping: 10_080 * 256,
    status: 750 * 800,
    fullConnect: (30 / 7) * 7000,
    resumedConnect: (30 - 30 / 7) * 3500,
    configAck: 700,
  });
  t.is(m.total, 720_000 + 10_080 * 256 + 750 * 800 + 30_000 + (30 - 30 / 7) * 3500 + 700);
});

test('the remote config the bench keeps retained is the cellular profile and a valid agent config', (t) => {
  const c = parseAgentConfig({ podId: 'IT002E61899978', ...cellularConfig() });
  t.is(c.batch.windowMs, 3_600_000);
  t.is(c.status.publishEveryMs, 3_600_000);
  t.is(c.uplink.keepaliveS, CELLULAR_PROFILE.keepaliveS);
  t.is(c.lines[0]!.meters[0]!.pollMs, CELLULAR_PROFILE.sampleMs);
});
