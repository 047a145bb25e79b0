// Chain 2 transports against the simulated gateway: HTTP polling and a PLC-modem serial line (pty pair); garbage on
// the line is counted, never thrown.
import test from 'ava';
import { romeToUtc, systemClock } from '@lightnode/protocols';
import { Chain2Source, HttpChain2Transport, SerialChain2Transport } from '@lightnode/edge';
import { createPtyPair, serveChain2Http, serveChain2Serial } from '../index.js';
import { SerialPort } from 'serialport';

const startMs = romeToUtc(2024, 1, 10, 8);

test('HTTP polling: CF1 quarters arrive through /lastcf.json and /getcf.json, each once', async (t) => {
  const gw = await serveChain2Http({ pod: 'IT001E01524052', startMs, speed: 900, seed: 2 });
  const readings: number[] = [];
  const src = new Chain2Source({
    name: 'http',
    transport: new HttpChain2Transport({ baseUrl: gw.address, clock: systemClock, pollMs: 300 }),
    podId: 'IT001E01524052',
    meters: ['M1'],
    onReading: (r) => r.type === 'CF1' && readings.push(r.tsMs),
  });
  src.start();
  await new Promise((r) => setTimeout(r, 6000));
  await src.stop();
  await gw.close();
  const st = src.stats();
  t.true(readings.length >= 4, JSON.stringify(st));
  t.is(new Set(readings).size, readings.length);
  t.is(st.undecodable, 0);
  t.is(st.transport.state, 'disconnected');
});

test('serial line (PLC modem, one frame per line) on a pty pair; garbage lines are counted', async (t) => {
  const pty = await createPtyPair();
  const gw = await serveChain2Serial({
    pod: 'IT001E01524052',
    startMs,
    speed: 900,
    seed: 2,
    path: pty.a,
    faults: { malformed: 0.2 },
  });
  const readings: number[] = [];
  const src = new Chain2Source({
    name: 'modem',
    transport: new SerialChain2Transport({ path: pty.b }),
    podId: 'IT001E01524052',
    meters: ['M1'],
    onReading: (r) => r.type === 'CF1' && readings.push(r.tsMs),
  });
  src.start();
  // some line noise as well
  const noise = new SerialPort({ path: pty.a, baudRate: 9600, lock: false });
  await new Promise((r) => setTimeout(r, 1000));
  noise.write('\x00\xff garbage {"Chain2Data":\n');
  await new Promise((r) => setTimeout(r, 5000));
  await new Promise<void>((r) => noise.close(() => r()));
  await src.stop();
  await gw.close();
  await pty.stop();
  const st = src.stats();
  t.true(readings.length >= 3, JSON.stringify(st));
  t.true(st.undecodable >= 1, JSON.stringify(st));
  t.is(st.undecodable, st.diagnostics.CHAIN2_DECODE ?? 0);
});
