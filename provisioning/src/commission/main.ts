/**
 * The composition root of `lightnode commission`: the real clock and the collaborators it is given — the RS-485 and
 * Modbus TCP scans of `@lightnode/edge` (each builtin profile's `identify` registers, then SunSpec discovery on TCP)
 * and the enrollment client (`enrollDevice`).
 */
import { systemClock } from '@lightnode/protocols';
import { enrollDevice } from '../enroll/client.js';
import { commissionCommand, type CommandDeps } from './command.js';
import { scanSerialDep, scanTcpDep } from './scans.js';

export function realDeps(): CommandDeps {
  return {
    clock: systemClock,
    scanSerial: scanSerialDep,
    scanTcp: scanTcpDep,
    enroll: (o) =>
      enrollDevice({
        url: o.url,
        token: o.token,
        serial: o.serial,
        podId: o.podId,
        signer: o.signer,
        now: () => o.clock.now(),
      }),
  };
}

export default commissionCommand(async () => realDeps());
