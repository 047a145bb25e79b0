/**
 * A real systemd for the deploy tests: a root directory booted with `systemd-nspawn --keep-unit --register=no -q -D
 * ROOT -b` (this machine's PID 1 is not systemd, so nspawn must neither register with machined nor make its own
 * scope: without the two flags it fails with "Failed to open system bus"). The container shares the host's network,
 * so peers on the host's loopback (Mosquitto, a simulated meter) are reachable from inside at 127.0.0.1.
 *
 * Commands run inside with `nsenter -t <container PID 1> -m -u -i -n -p` (PID 1 is the nspawn process's child) in a
 * clean environment; files are copied in through the root directory, which is on the host's file system. Every
 * process, mount and loop device made here is undone by PID / path in `dispose()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { waitUntil } from '../hil/harness.js';

const CLEAN_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8', 'HOME=/root'];

export interface RunResult {
  code: number | null;
  out: string;
  err: string;
}

/** Run a host command to completion (bounded), collecting its output. */
export function run(cmd: string, args: string[], o: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      err += `\n(${cmd} killed after ${o.timeoutMs} ms)`;
      c.kill('SIGKILL');
    }, o.timeoutMs ?? 60_000);
    c.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, out, err: err + e.message });
    });
    c.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
    // a command that exits before reading its stdin closes the pipe: EPIPE on our end is not its failure
    c.stdin.on('error', () => undefined);
    c.stdin.end(o.input ?? '');
  });
}

/** The harness's polling helper, re-exported for the deploy tests. */
export { waitUntil };

/** Why nspawn cannot be used here (not root, a tool missing), or null. */
export function missingPrerequisite(): string | null {
  if (process.getuid?.() !== 0) return 'not root (systemd-nspawn needs root)';
  for (const [tool, pkg] of [
    ['systemd-nspawn', 'systemd-container'],
    ['nsenter', 'util-linux'],
    ['mmdebstrap', 'mmdebstrap'],
  ] as const)
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `no ${tool} (apt-get install ${pkg})`;
  return null;
}

/**
 * A cached minimal bootable Debian root (`mmdebstrap --variant=apt --include=systemd,systemd-sysv,dbus,udev bookworm`,
 * ~1.5 min once: the probe root, and the root the package's offline install test copies) in `cacheDir`; returns its path. A failed build throws (loudly: it is not nspawn refusing).
 */
export async function ensureBaseRoot(cacheDir: string, extra: string[] = []): Promise<string> {
  const name = ['nspawn-base-amd64-udev', ...extra].join('+');
  const dir = join(cacheDir, name);
  if (existsSync(join(dir, 'usr', 'lib', 'systemd', 'systemd'))) return dir;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const r = await run(
    'mmdebstrap',
    ['--variant=apt', `--include=${['systemd', 'systemd-sysv', 'dbus', 'udev', ...extra].join(',')}`, 'bookworm', tmp],
    { timeoutMs: 15 * 60_000 },
  );
  if (r.code !== 0) throw new Error(`mmdebstrap of ${tmp} failed (exit ${r.code}): ${r.err.slice(-2000)}`);
  renameSync(tmp, dir);
  return dir;
}

export type NspawnProbe = { ok: true; bootMs: number } | { ok: false; reason: string };

let probed: Promise<NspawnProbe> | undefined;

/**
 * Whether systemd-nspawn can boot a root here: root, the tools ({@link missingPrerequisite}), and one boot of a copy
 * of the cached minimal root (once per process). A failed build of that root throws: it is a failure, not a reason
 * to skip. Its `reason` is what the booted tests put in their skip titles and the HIL runner in its `agents` stage.
 */
export function probeNspawn(cacheDir: string): Promise<NspawnProbe> {
  probed ??= (async (): Promise<NspawnProbe> => {
    const missing = missingPrerequisite();
    if (missing) return { ok: false, reason: missing };
    const root = copyRoot(await ensureBaseRoot(cacheDir));
    try {
      const c = await BootedContainer.boot(root, { timeoutMs: 60_000 });
      await c.poweroff();
      return { ok: true, bootMs: c.bootMs };
    } catch (e) {
      return { ok: false, reason: `systemd-nspawn cannot boot a root here: ${(e as Error).message.split('\n')[0]}` };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  })();
  return probed;
}

/** A throw-away copy of a root directory (the cached one is never booted itself). */
export function copyRoot(src: string): string {
  const dst = mkdtempSync(join(tmpdir(), 'ln-nspawn-'));
  const r = spawnSync('cp', ['-a', `${src}/.`, `${dst}/`]);
  if (r.status !== 0) throw new Error(`cp -a ${src} ${dst} failed: ${r.stderr.toString()}`);
  return dst;
}

/**
 * The root partition of a GPT disk image (the partition labelled `label`), from a **copy** of the image, mounted
 * read-write through `losetup --offset --sizelimit` (`losetup -P` makes no partition nodes on this machine kind).
 */
export async function mountImageRoot(
  image: string,
  label = 'lightnode-root',
): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const work = mkdtempSync(join(tmpdir(), 'ln-image-'));
  const copy = join(work, basename(image));
  const mnt = join(work, 'root');
  mkdirSync(mnt);
  let loop: string | undefined;
  const cleanup = async (): Promise<void> => {
    if (spawnSync('mountpoint', ['-q', mnt]).status === 0) await run('umount', [mnt]);
    if (loop) await run('losetup', ['-d', loop]);
    rmSync(work, { recursive: true, force: true });
  };
  try {
    const cp = await run('cp', ['--sparse=always', image, copy], { timeoutMs: 300_000 });
    if (cp.code !== 0) throw new Error(`cp ${image}: ${cp.err}`);
    const sf = await run('sfdisk', ['--json', copy]);
    if (sf.code !== 0) throw new Error(`sfdisk --json ${copy}: ${sf.err}`);
    const table = (
      JSON.parse(sf.out) as { partitiontable: { sectorsize?: number; partitions: Record<string, unknown>[] } }
    ).partitiontable;
    const part = table.partitions.find((p) => p.name === label);
    if (!part) throw new Error(`image ${image}: no partition labelled ${label}`);
    const sector = table.sectorsize ?? 512;
    const lo = await run('losetup', [
      '-f',
      '--show',
      '--offset',
      String(Number(part.start) * sector),
      '--sizelimit',
      String(Number(part.size) * sector),
      copy,
    ]);
    if (lo.code !== 0) throw new Error(`losetup of ${copy}: ${lo.err}`);
    loop = lo.out.trim();
    const m = await run('mount', [loop, mnt]);
    if (m.code !== 0) throw new Error(`mount ${loop} ${mnt}: ${m.err}`);
    return { root: mnt, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** A booted container: its root on the host, nspawn's PID, the container's PID 1. */
export class BootedContainer {
  private exited = false;
  private constructor(
    readonly root: string,
    private readonly nspawn: ChildProcess,
    readonly init: number,
    /** From spawning nspawn to `systemctl is-system-running` answering running or degraded. */
    readonly bootMs: number,
    private readonly logText: () => string,
  ) {
    nspawn.once('exit', () => (this.exited = true));
  }

  /** Boot `root` and wait until the system is `running` (or `degraded`, which is then in `state`). */
  static async boot(root: string, o: { timeoutMs?: number; nspawnArgs?: string[] } = {}): Promise<BootedContainer> {
    const t0 = Date.now();
    const args = ['--keep-unit', '--register=no', '-q', ...(o.nspawnArgs ?? []), '-D', root, '-b'];
    const child = spawn('systemd-nspawn', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-200_000)));
    child.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-200_000)));
    let gone: string | undefined;
    child.once('exit', (code, sig) => (gone = `systemd-nspawn exited (${code ?? sig}): ${log.slice(-1500)}`));
    child.once('error', (e) => (gone = `systemd-nspawn: ${e.message}`));
    const timeoutMs = o.timeoutMs ?? 60_000;
    let init: number | undefined;
    try {
      init = await waitUntil(
        () => {
          if (gone) throw new Error(gone);
          // nspawn's inner child becomes the container's init once it has exec'd systemd
          return readChildren(child.pid!).find((k) => comm(k) === 'systemd');
        },
        timeoutMs,
        'the container to start its PID 1',
      );
      const c = new BootedContainer(root, child, init, 0, () => log);
      await waitUntil(
        async () => {
          if (gone) throw new Error(gone);
          const s = (await c.exec(['systemctl', 'is-system-running'])).out.trim();
          return s === 'running' || s === 'degraded' ? s : undefined;
        },
        timeoutMs,
        () => `systemctl is-system-running to say running or degraded; log: ${log.slice(-1500)}`,
      );
      return new BootedContainer(root, child, init, Date.now() - t0, () => log);
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
  }

  /** The console output so far (the last 200 kB). */
  log(): string {
    return this.logText();
  }

  /** Run a command inside (all the container's namespaces, a clean environment). */
  exec(cmd: string[], o: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    return run(
      'nsenter',
      ['-t', String(this.init), '-m', '-u', '-i', '-n', '-p', '--', '/usr/bin/env', '-i', ...CLEAN_ENV, ...cmd],
      o,
    );
  }

  /** `sh -c SCRIPT` inside; throws with its output unless it exits 0. */
  async sh(script: string, o: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.exec(['sh', '-c', script], o);
    if (r.code !== 0) throw new Error(`inside: ${script}: exit ${r.code}\n${r.out}\n${r.err}`);
    return r.out;
  }

  /** Properties of a unit (`systemctl show -p …`). */
  async show(unit: string, props: string[]): Promise<Record<string, string>> {
    const r = await this.exec(['systemctl', 'show', unit, ...props.map((p) => `-p${p}`)]);
    const out: Record<string, string> = {};
    for (const line of r.out.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  }

  /** The host path of a path inside the container. */
  hostPath(p: string): string {
    return join(this.root, p);
  }

  /** Write a file inside (through the root directory), creating its directory. */
  writeFile(p: string, content: string | Buffer): void {
    const h = this.hostPath(p);
    mkdirSync(dirname(h), { recursive: true });
    writeFileSync(h, content);
  }

  readFile(p: string): string {
    return readFileSync(this.hostPath(p), 'utf8');
  }

  /** Copy a host file or directory inside. */
  copyIn(hostSrc: string, p: string): void {
    mkdirSync(dirname(this.hostPath(p)), { recursive: true });
    cpSync(hostSrc, this.hostPath(p), { recursive: true });
  }

  /** `systemctl poweroff` inside and wait for nspawn to exit; SIGKILL to nspawn after `timeoutMs`. */
  async poweroff(timeoutMs = 30_000): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.nspawn.once('exit', () => r()));
    await this.exec(['systemctl', 'poweroff'], { timeoutMs: 10_000 });
    const t = setTimeout(() => this.nspawn.kill('SIGKILL'), timeoutMs);
    await done;
    clearTimeout(t);
    // nspawn's propagation directory for this machine (named after the root directory)
    rmSync(join('/run/systemd/nspawn/propagate', basename(this.root)), { recursive: true, force: true });
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function readChildren(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
