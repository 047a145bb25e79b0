/**
 * The composition root of `lightnode commission`: the real clock and the collaborators it is given. The RS-485 / TCP
 * scans (`edge/src/modbus/scan.ts`) and the enrollment client (`provisioning/src/enroll/client.ts`) are built by other
 * work of issue 15; they are wired here, in `loadDeps`, when that work is merged. Until then a run (after the PoD
 * and the flags were checked) refuses with COMMISSION_FAILED naming what is missing; `--help` works.
 */
import { LightNodeError } from '@lightnode/protocols';
import { commissionCommand, type CommandDeps } from './command.js';

async function loadDeps(): Promise<CommandDeps> {
  const missing = ['scanSerial/scanTcp (edge/src/modbus/scan.ts)', 'enroll (provisioning/src/enroll/client.ts)'];
  throw new LightNodeError(
    'COMMISSION_FAILED',
    `this build does not wire ${missing.join(' and ')} into the command yet: use a build that has them`,
    { missing },
  );
}

export default commissionCommand(loadDeps);
