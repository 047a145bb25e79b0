// Closed means closed: after `ModbusLine.close()` the request in flight is rejected at once, nothing is retried and
// the transport is never reopened (a reopened socket after close kept the agent alive after SIGTERM).
import test from 'ava';
import { createServer, type Socket } from 'node:net';
import { RegisterImage, isLightNodeError } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { FakeModbusTransport } from '../testing/index.js';
import { ModbusLine } from './line.js';
import { ModbusSerialTransport } from './transport.js';

const codeOf = (e: unknown): string => (isLightNodeError(e) ? e.code : String(e));

function slowLine(clock: FakeClock) {
  const transport = new FakeModbusTransport(clock, { kind: 'tcp' });
  const image = new RegisterImage();
  transport.addUnit(1, image, { latencyMs: 100 });
  const line = new ModbusLine(transport, { clock, random: () => 1 });
  const dev = line.addDevice({ name: 'm1', unit: 1, timeoutMs: 300, retries: 3 });
  return { transport, line, dev };
}

test('close() rejects the request in flight at once and retries nothing', async (t) => {
  const clock = new FakeClock();
  const { transport, line, dev } = slowLine(clock);
  let settled: string | undefined;
  const p = dev.read(3, 0, 2).then(
    () => (settled = 'resolved'),
    (e: unknown) => (settled = codeOf(e)),
  );
  await clock.advance(50); // the request is on the wire, its answer 50 ms away
  t.is(transport.log.length, 1);
  await line.close();
  await p;
  t.is(settled, 'DEVICE_UNAVAILABLE', 'rejected by close, without advancing the clock');
  await clock.advance(5000);
  t.is(transport.log.length, 1, 'no retry after close');
});

test('after close() every request is refused without touching the transport', async (t) => {
  const clock = new FakeClock();
  const { transport, line, dev } = slowLine(clock);
  await line.close();
  const e = await t.throwsAsync(dev.read(3, 0, 2));
  t.is(codeOf(e), 'DEVICE_UNAVAILABLE');
  await t.throwsAsync(dev.write(6, 0, [1]));
  t.is(transport.log.length, 0);
});

test('a closed ModbusSerialTransport rejects its request in flight and never reconnects', async (t) => {
  const sockets: Socket[] = [];
  let connections = 0;
  let connected!: () => void;
  const firstConnection = new Promise<void>((r) => (connected = r));
  const server = createServer((s) => {
    connections++;
    sockets.push(s);
    s.on('error', () => undefined);
    connected(); // a device that never answers: the request stays in flight
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const transport = new ModbusSerialTransport({ tcp: { host: '127.0.0.1', port } });
  try {
    const inFlight = transport.read({ fc: 3, unit: 1, address: 0, count: 2, timeoutMs: 60_000 });
    inFlight.catch(() => undefined);
    await firstConnection;
    await transport.close();
    const e = await t.throwsAsync(inFlight);
    t.is(codeOf(e), 'MODBUS_CONNECT');
    t.regex(e.message, /closed/);
    const again = await t.throwsAsync(transport.read({ fc: 3, unit: 1, address: 0, count: 2, timeoutMs: 1000 }));
    t.regex(again.message, /transport closed/);
    await t.throwsAsync(transport.open());
    t.is(connections, 1, 'no reconnect after close');
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
