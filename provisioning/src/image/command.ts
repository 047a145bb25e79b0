/** `lightnode image flash IMAGE --device PATH [--bmap FILE] [--yes] [--json]`. */
import { createInterface } from 'node:readline/promises';
import {
  LightNodeError,
  flagSpec,
  flagString,
  parseFlags,
  type Command,
  type CommandGroup,
} from '@lightnode/protocols';
import { flashImage } from './flash.js';

const FLASH_USAGE = `Usage: lightnode image flash IMAGE --device PATH [--bmap FILE] [--yes] [--json]

Writes IMAGE (a Light Node image: npm run image) to PATH, a block device (an SD card, a USB disk: /dev/sdX,
/dev/mmcblkN) or a regular file, with bmaptool copy and IMAGE.bmap (--bmap FILE for another): only the mapped
blocks are written. Then reads the mapped ranges back from PATH and checks each against the bmap's sha256.
Refused before anything is written (exit 1, the code and the device named): FLASH_BMAP_MISSING (no bmap),
FLASH_TARGET_SYSTEM (PATH or one of its partitions holds /, /boot, /boot/efi, /usr, /var or active swap),
FLASH_TARGET_MOUNTED (names the mount points), FLASH_TARGET_TOO_SMALL, FLASH_TARGET_INVALID (missing, or neither
a block device nor a regular file), FLASH_CONFIRM_REQUIRED (without --yes the device name must be typed on a
terminal), FLASH_IMAGE_CORRUPT (a mapped range does not match the bmap). FLASH_VERIFY_FAILED when the read-back
differs. Prints {device, image, mappedBytes, seconds, verified} with --json; progress on stderr. Needs the right to
write PATH (root for a device).`;

/** Asks on the terminal (stdin and stderr both TTYs), else undefined: no one to ask. */
function terminalConfirm(): ((q: string) => Promise<string>) | undefined {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return async (q) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await rl.question(q);
    } finally {
      rl.close();
    }
  };
}

const flash: Command = {
  summary: 'write an image to an SD card, a disk or a file (bmaptool copy), then verify it read back',
  usage: FLASH_USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, flagSpec({ string: ['device', 'bmap'], boolean: ['yes', 'json'] }), FLASH_USAGE);
    if (p.positionals.length !== 1)
      throw new LightNodeError('USAGE', `expected exactly one IMAGE\n\n${FLASH_USAGE}`, { positionals: p.positionals });
    const r = await flashImage({
      image: p.positionals[0]!,
      device: flagString(p, 'device', FLASH_USAGE, true),
      bmap: flagString(p, 'bmap', FLASH_USAGE),
      yes: p.values.yes === true,
      confirm: terminalConfirm(),
      progress: (l) => io.stderr(l),
      signal: io.signal,
    });
    if (p.values.json) io.stdout(JSON.stringify(r));
    else io.stdout(`${r.device}: ${r.image} written (${r.mappedBytes} mapped bytes) and verified in ${r.seconds} s`);
    return 0;
  },
};

const group: CommandGroup = {
  summary: 'Light Node images: flash one to an SD card or disk (bmap, verified)',
  subcommands: { flash },
};
export default group;
