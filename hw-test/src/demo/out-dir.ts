/** The demo's `--out DIR`: created if missing; its report.* and work/ replaced; a file or a read-only dir refused. */
import { mkdirSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LightNodeError } from '@lightnode/protocols';

/** Prepares `dir` and returns its fresh `work/` directory. */
export function prepareOutDir(dir: string): string {
  const refuse = (why: string): never => {
    throw new LightNodeError('IO_ERROR', `--out ${dir}: ${why}`, { field: '--out', received: dir });
  };
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) refuse('is not a directory');
    if ((st.mode & 0o222) === 0) refuse('is read-only');
  } catch (e) {
    if (e instanceof LightNodeError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (m) {
      refuse(`cannot be created (${(m as NodeJS.ErrnoException).code ?? String(m)})`);
    }
  }
  const probe = join(dir, `.lightnode-write-probe-${process.pid}`);
  try {
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (e) {
    refuse(`is not writable (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  for (const f of readdirSync(dir)) if (/^report\./.test(f)) rmSync(join(dir, f), { force: true });
  const work = join(dir, 'work');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  return work;
}
