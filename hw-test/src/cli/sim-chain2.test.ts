// `lightnode sim chain2` takes --late P and --reboot-every S, checks them, and says what it runs.
import test from 'ava';
import { isLightNodeError, type CommandIo } from '@lightnode/protocols';
import simChain2 from './sim-chain2.js';

function io(signal: AbortSignal, out: string[]): CommandIo {
  return { stdout: (s) => out.push(s), stderr: () => undefined, env: {}, cwd: process.cwd(), signal };
}

test('--late and --reboot-every reach the running gateway', async (t) => {
  const ac = new AbortController();
  const out: string[] = [];
  const run = simChain2.run(['--ws', '127.0.0.1:0', '--late', '0.25', '--reboot-every', '30', '--speed', '600'], {
    ...io(ac.signal, out),
    stdout: (s) => {
      out.push(s);
      ac.abort(); // listening: stop it
    },
  });
  t.is(await run, 0);
  const started = JSON.parse(out[0]!) as { listening: string; faults: { late: number }; rebootEveryS: number };
  t.regex(started.listening, /^ws:\/\/127\.0\.0\.1:\d+$/);
  t.is(started.faults.late, 0.25);
  t.is(started.rebootEveryS, 30);
});

test('bad --late and --reboot-every values are usage errors naming the flag', async (t) => {
  const signal = new AbortController().signal;
  for (const [argv, re] of [
    [['--ws', '127.0.0.1:0', '--late', '2'], /--late: expected a probability 0\.\.1, received "2"/],
    [['--ws', '127.0.0.1:0', '--reboot-every', '0'], /--reboot-every: expected wall-clock seconds/],
    [['--late', '0.1'], /give exactly one of --ws, --http, --serial/],
  ] as const) {
    const e = await t.throwsAsync(simChain2.run([...argv], io(signal, [])));
    t.true(isLightNodeError(e, 'USAGE'));
    t.regex(e.message, re);
  }
  t.regex(simChain2.usage, /--late P/);
  t.regex(simChain2.usage, /--reboot-every S/);
});
