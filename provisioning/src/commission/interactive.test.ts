// The interactive mode's pure parts: when it asks (a TTY both ways, not --non-interactive, not --json), which inputs
// the flags already gave (not asked again), and which serial ports it offers.
import test from 'ava';
import { isInteractive, resolveInputsGiven } from './inputs.js';
import { detectSerialPorts } from './interactive.js';

test('interactive only at a terminal, and neither --non-interactive nor --json', (t) => {
  t.true(isInteractive(['--tcp', 'h'], true));
  t.false(isInteractive(['--tcp', 'h'], false));
  t.false(isInteractive(['--non-interactive'], true));
  t.false(isInteractive(['--json'], true));
});

test('inputs given by flags are known (the rest are asked); a missing PoD is allowed only when asked for', (t) => {
  const { inputs, given } = resolveInputsGiven(['--tcp', '10.0.0.5', '--battery-test', '--serial', 'S1'], {
    requirePod: false,
  });
  t.is(inputs.podId, '');
  t.deepEqual([...given].sort(), ['batteryTest', 'serial', 'tcp']);
  t.throws(() => resolveInputsGiven(['--tcp', '10.0.0.5']), { message: /missing --pod/ });
  // a given PoD is still checked first
  t.throws(() => resolveInputsGiven(['--pod', 'IT1'], { requirePod: false }), { message: /IT1/ });
});

test('serial ports offered: the stable by-id names first, else the usual adapters (not legacy ttyS*)', (t) => {
  const fs: Record<string, string[]> = {
    '/dev/serial/by-id': ['usb-FTDI_FT232R_USB_UART_A10K-if00-port0'],
    '/dev': ['ttyS0', 'ttyS1', 'ttyUSB0', 'ttyACM0', 'ttyAMA0', 'ttySC1', 'tty0', 'null'],
  };
  t.deepEqual(
    detectSerialPorts((d) => fs[d] ?? []),
    ['/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K-if00-port0'],
  );
  delete fs['/dev/serial/by-id'];
  t.deepEqual(
    detectSerialPorts((d) => fs[d] ?? []),
    ['/dev/ttyACM0', '/dev/ttyAMA0', '/dev/ttySC1', '/dev/ttyUSB0'],
  );
});
