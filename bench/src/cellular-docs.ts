/**
 * The documents of the cellular bench besides the batches: the remote config the operator keeps retained for the
 * device (the cellular profile's keys, local-only ones left out as item 3 of issue 15 requires), and a typical status
 * document as the agent's `statusDocument` builds it (one PoD meter read well, the outbox holding the samples of the
 * open window, the link up, time synchronised, a remote config applied).
 */
import type { Sample, StatusDocument } from '@lightnode/protocols';

/** The remote part of the cellular profile (see edge/README.md § Cellular profile for the whole file). */
export function cellularConfig(): Record<string, unknown> {
  return {
    batch: { windowMs: 3_600_000 },
    uplink: { url: 'mqtts://broker.example.net:8883', keepaliveS: 240 },
    status: { publishEveryMs: 3_600_000 },
    lines: [
      {
        name: 'rs485',
        transport: { rtu: { path: '/dev/ttyUSB0', baud: 9600 } },
        meters: [{ id: 'pod', profile: 'eastron/sdm630', role: 'pod', pollMs: 60_000, slowEvery: 1 }],
      },
    ],
  };
}

/** The status document published with the hour `g` (after its last sample), remote config `configHash` applied. */
export function typicalStatus(deviceId: string, g: readonly Sample[], configHash: string): StatusDocument {
  const last = g[g.length - 1]!;
  return {
    v: 1,
    deviceId,
    state: 'online',
    atMs: last.tsMs + 1_000,
    meters: [{ id: 'pod', quality: 'good', errors: 0, lastGoodMs: last.tsMs, latencyMs: 41 }],
    outbox: {
      depthSamples: g.length,
      depthBatches: 0,
      oldestUndeliveredMs: g[0]!.tsMs,
      bytes: 94_208,
      quotaBytes: 268_435_456,
    },
    link: { state: 'connected', since: g[0]!.tsMs - 86_400_000, protocolVersion: 5 },
    timeSync: { synchronized: true, source: 'systemd-timesyncd' },
    config: { revision: 1, configHash, state: 'applied' },
  };
}
