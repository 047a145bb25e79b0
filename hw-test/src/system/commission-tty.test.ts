// `lightnode commission` at a real terminal (Debian tmux), as an installer would: the prompts answered with
// send-keys, a malformed PoD refused on screen and asked again, progress bars and the QR code read back with
// capture-pane, the files written; Ctrl-C at the first prompt exits 130 and writes nothing.
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinProfiles, systemClock } from '@lightnode/protocols';
import { MeterSimulator, createPtyPair, serveRtu, serveTcp, startEssSim, startMosquitto } from '../index.js';
import { BIN, waitUntil } from '../hil/harness.js';

const tmux = (socket: string, args: string[]): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile('tmux', ['-L', socket, '-f', '/dev/null', ...args], (e, out, err) =>
      e ? reject(new Error(`tmux ${args.join(' ')}: ${err || e.message}`)) : resolve(out),
    ),
  );

/** A private tmux server (its own socket) running `argv` in a 160×60 terminal, kept after the command exits. */
async function terminal(t: ExecutionContext, argv: string[], exitFile: string) {
  const socket = `ln-commission-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const cmd = `${[process.execPath, BIN, ...argv].map((a) => `'${a}'`).join(' ')}; echo $? > '${exitFile}'`;
  await tmux(socket, ['new-session', '-d', '-x', '160', '-y', '60', 'sh', '-c', `${cmd}; sleep 600`]);
  t.teardown(() => tmux(socket, ['kill-server']).catch(() => undefined));
  const screen = () => tmux(socket, ['capture-pane', '-p', '-S', '-300']);
  const keys = (...k: string[]) => tmux(socket, ['send-keys', ...k]);
  const see = (re: RegExp, what: string, timeoutMs = 30_000) =>
    waitUntil(
      async () => re.test(await screen()),
      timeoutMs,
      async () => `${what} on screen:\n${await screen()}`,
    );
  return { screen, keys, see };
}

test('an installer at a terminal: bad PoD refused on screen, prompts answered, bars and QR seen, files written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-commission-tty-'));
  const profiles = builtinProfiles();
  const broker = await startMosquitto();
  const tcpMeter = await serveTcp([
    new MeterSimulator({ profile: profiles.get('carlo-gavazzi/em24'), unit: 1, clock: systemClock }),
  ]);
  const pty = await createPtyPair();
  const rtuMeter = await serveRtu(
    [new MeterSimulator({ profile: profiles.get('eastron/sdm630'), unit: 1, clock: systemClock })],
    {
      path: pty.a,
      baud: 9600,
    },
  );
  const ess = await startEssSim({ interface: { kind: 'sunspec' }, clock: systemClock });
  t.teardown(async () => {
    await ess.stop();
    await rtuMeter.close();
    await pty.stop();
    await tcpMeter.close();
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  const exitFile = join(dir, 'exit');
  const out = join(dir, 'out');
  const term = await terminal(
    t,
    [
      'commission',
      '--serial',
      'LN-TTY-1',
      '--rs485',
      pty.b,
      '--tcp',
      `127.0.0.1:${tcpMeter.port!},127.0.0.1:${ess.port!}`,
      '--cloud',
      broker.url,
      '--state-dir',
      join(dir, 'state'),
      '--config-out',
      join(dir, 'agent.json'),
      '--out',
      out,
    ],
    exitFile,
  );
  await term.see(/Customer's PoD/, 'the PoD question first');
  await term.keys('IT99BAD', 'Enter');
  await term.see(/PoD "IT99BAD" refused: expected IT \+ 3-digit distributor code/, 'the malformed PoD refused inline');
  await term.keys('C-u');
  await term.keys('IT002E61899978', 'Enter');
  await term.see(/Installer/, 'the installer question (the serial came with --serial)');
  await term.keys('Bench Installer', 'Enter');
  await term.see(/Scan every unit id/, 'the full-scan question (RS-485 ports came with --rs485)');
  await term.keys('Enter');
  await term.see(/Chain 2 device local API/, 'the Chain 2 question');
  await term.keys('Enter');
  await term.see(/battery test/, 'the battery-test question');
  await term.keys('Enter');
  await term.see(/Enrollment service/, 'the enrollment question (after the cloud, which came with --cloud)');
  await term.keys('Enter');
  await waitUntil(
    () => existsSync(exitFile) || undefined,
    120_000,
    async () => `the command to end:\n${await term.screen()}`,
  );
  const screen = await term.screen();
  t.is(readFileSync(exitFile, 'utf8').trim(), '0', screen);
  // the bars are redrawn in place: what stays on screen is each one's last frame (a scan that ends within one
  // redraw may leave none), and one line per finished step above them
  t.regex(screen, /(rs485|modbus-tcp) +\[#+\] 100%/, `a progress bar at 100 %:\n${screen}`);
  t.regex(screen, /\[ok {2}\] rs485: .*eastron\/sdm630/, `the RS-485 step's line:\n${screen}`);
  t.true(screen.split('\n').filter((l) => /[▄▀█]{6,}/.test(l)).length >= 10, `the QR code of the address:\n${screen}`);
  t.regex(screen, /rs485 +PASS .*eastron\/sdm630/);
  t.regex(screen, /modbus-tcp +PASS .*carlo-gavazzi\/em24/);
  t.regex(screen, /commissioning passed/);
  const files = readdirSync(out);
  t.true(files.some((f) => /^commissioning-LN-TTY-1-.*\.json$/.test(f)));
  t.true(files.some((f) => /^commissioning-LN-TTY-1-.*\.html$/.test(f)));
  t.true(existsSync(join(dir, 'agent.json')));
  t.true(existsSync(join(dir, 'state', 'device.key')));
});

test('Ctrl-C at the first prompt: exit 130, nothing written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-commission-tty-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const exitFile = join(dir, 'exit');
  const state = join(dir, 'state');
  const term = await terminal(
    t,
    ['commission', '--state-dir', state, '--config-out', join(dir, 'agent.json')],
    exitFile,
  );
  await term.see(/Customer's PoD/, 'the PoD question');
  await term.keys('C-c');
  await waitUntil(() => existsSync(exitFile) || undefined, 30_000, 'the command to end');
  t.is(readFileSync(exitFile, 'utf8').trim(), '130', await term.screen());
  t.false(existsSync(state), 'no state dir, no key');
  t.false(existsSync(join(dir, 'agent.json')));
});
