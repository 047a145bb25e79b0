// LIGHTNODE_CLOCK in edge: the step file read at start and re-read every second on the base clock's timer.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLogger } from '@lightnode/protocols';
import { FakeClock } from '@lightnode/protocols/testing';
import { envClock, STEP_REREAD_MS } from './clock-knob.js';

const START = Date.UTC(2024, 0, 10, 9);

function logs() {
  const logger = memoryLogger('debug');
  return { lines: logger.lines, logger };
}

test('absent LIGHTNODE_CLOCK: null (the caller keeps the system clock)', (t) => {
  t.is(envClock({}, { logger: logs().logger }), null);
});

test('the step file is re-read every second: a running clock jumps, back and forth', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-clock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'step');
  writeFileSync(file, '0\n');
  const base = new FakeClock(START);
  const { lines, logger } = logs();
  const ec = envClock({ LIGHTNODE_CLOCK: `offsetMs=60000,stepFile=${file}` }, { logger, base })!;
  t.teardown(() => ec.stop());
  t.is(ec.clock.now(), START + 60_000);
  t.deepEqual(ec.status(), { offsetMs: 60_000, speed: 1, stepMs: 0, stepFile: file });
  t.true(lines.some((l) => l.level === 'warn' && String(l.msg).includes('LIGHTNODE_CLOCK set')));
  writeFileSync(file, '-300000');
  await base.advance(STEP_REREAD_MS - 1);
  t.is(ec.clock.now(), START + 60_000 + 999, 'not re-read before the second is up');
  await base.advance(1);
  t.is(ec.clock.now(), START + 60_000 + 1000 - 300_000);
  t.is(ec.status().stepMs, -300_000);
  t.is(ec.clock.monotonic(), 1000);
  t.true(lines.some((l) => String(l.msg).includes('the clock steps') && l.toMs === -300_000));
  // a bad write is logged once and the last step kept; a missing file is a step of 0
  writeFileSync(file, 'soon');
  await base.advance(3 * STEP_REREAD_MS);
  t.is(ec.status().stepMs, -300_000);
  t.is(lines.filter((l) => String(l.msg).includes('step file unreadable')).length, 1);
  writeFileSync(file, '5000');
  await base.advance(STEP_REREAD_MS);
  t.is(ec.clock.now(), START + 60_000 + 5000 + 5000);
  rmSync(file);
  await base.advance(STEP_REREAD_MS);
  t.is(ec.status().stepMs, 0);
  ec.stop();
  t.is(base.pending, 0, 'stop cancels the re-read');
});

test('at start: a bad variable or step file → CONFIG_INVALID; a missing file is a step of 0', (t) => {
  const { logger } = logs();
  const base = new FakeClock(START);
  t.throws(() => envClock({ LIGHTNODE_CLOCK: 'speed=0' }, { logger, base }), {
    message: /^CONFIG_INVALID: LIGHTNODE_CLOCK: "speed=0"/,
  });
  t.throws(() => envClock({ LIGHTNODE_CLOCK: 'stepFile=/s' }, { logger, base, readFile: () => '-5 min' }), {
    message: /^CONFIG_INVALID: LIGHTNODE_CLOCK stepFile \/s: "-5 min"/,
  });
  t.throws(
    () =>
      envClock(
        { LIGHTNODE_CLOCK: 'stepFile=/s' },
        {
          logger,
          base,
          readFile: () => {
            throw Object.assign(new Error('denied'), { code: 'EACCES' });
          },
        },
      ),
    { message: /^CONFIG_INVALID: LIGHTNODE_CLOCK: stepFile \/s: cannot read \(EACCES\)/ },
  );
  const ec = envClock({ LIGHTNODE_CLOCK: 'speed=2,stepFile=/s' }, { logger, base, readFile: () => null })!;
  t.is(ec.status().stepMs, 0);
  ec.stop();
  const noFile = envClock({ LIGHTNODE_CLOCK: 'speed=2' }, { logger, base })!;
  t.is(base.pending, 0, 'no step file: nothing to re-read');
  t.deepEqual(noFile.status(), { offsetMs: 0, speed: 2, stepMs: 0 });
});
