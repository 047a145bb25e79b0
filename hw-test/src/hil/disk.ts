/**
 * The disk-full injector: a tmpfs of a fixed size mounted over an agent's state directory (its outbox and seq marks)
 * in a user + mount namespace of its own (`unshare -rm` + `mount -t tmpfs`: no root needed, nothing mounted on the
 * host), agents started inside it by `nsenter` (which execs: the child is the agent, its signals reach it), and a
 * ballast file that takes every free block (written until ENOSPC) and is freed again.
 *
 * A small `sh` holds the namespace until `dispose()`, so an agent killed and restarted there finds its outbox again.
 * From outside the namespace the tmpfs is reached through the holder's root, `/proc/HOLDER/root/PATH`: the ballast is
 * written, measured and removed from this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { open, rm, stat, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LightNodeError } from '@lightnode/protocols';
import { cli, startAgent, type AgentProcess } from './harness.js';

/** `statfs` f_type of a tmpfs (TMPFS_MAGIC, linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;
const MiB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024);
/** Mounts the tmpfs ($1 = path, $2 = size in MiB), says so, and holds the namespace until stdin closes. */
const HOLD = 'mount -t tmpfs -o size="$2"m tmpfs "$1" || exit 97\necho mounted\nread -r _ || true';
const MOUNT_FAILED = 97;

/** What the tmpfs holds, in bytes. */
export interface TmpfsUsage {
  sizeBytes: number;
  usedBytes: number;
  /** Blocks still free (0 once `fill()` has run and nothing was freed). */
  freeBytes: number;
  ballastBytes: number;
}

export interface TmpfsOptions {
  /** The mount point (created when missing); what it held before is hidden under the tmpfs. */
  path: string;
  sizeMiB: number;
  /** How long the namespace and the mount may take (default 10 000 ms). */
  startTimeoutMs?: number;
}

/** A tmpfs in a namespace of its own; `mount` makes one, or throws IO_ERROR naming what could not be made. */
export class Tmpfs {
  /** The holder's exit code once it is gone (undefined while it holds the namespace). */
  private exitCode: number | null | undefined;

  private constructor(
    /** The mount point, absolute, as the namespace sees it (the agent's config names this path). */
    readonly path: string,
    readonly sizeMiB: number,
    private readonly holder: ChildProcess,
    private readonly gone: Promise<number | null>,
  ) {
    void gone.then((c) => (this.exitCode = c));
  }

  static async mount(o: TmpfsOptions): Promise<Tmpfs> {
    const path = resolve(o.path);
    const context = { path, sizeMiB: o.sizeMiB };
    if (!Number.isInteger(o.sizeMiB) || o.sizeMiB < 1)
      throw new LightNodeError('USAGE', `disk-full: sizeMiB must be an integer ≥ 1, got ${o.sizeMiB}`, context);
    try {
      if (!existsSync(path)) mkdirSync(path, { recursive: true });
    } catch (e) {
      throw new LightNodeError('IO_ERROR', `disk-full: cannot make the mount point ${path}: ${(e as Error).message}`, {
        ...context,
        stage: 'mount',
      });
    }
    const holder = spawn('unshare', ['-rm', 'sh', '-c', HOLD, 'sh', path, String(o.sizeMiB)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    holder.stdout.on('data', (d: Buffer) => (out += d.toString()));
    holder.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const gone = new Promise<number | null>((r) => holder.on('close', (code) => r(code)));
    const timeoutMs = o.startTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await new Promise<'mounted' | 'timeout' | { code: number | null } | { spawn: Error }>((r) => {
      holder.on('error', (e) => r({ spawn: e }));
      holder.stdout.on('data', () => out.includes('mounted\n') && r('mounted'));
      void gone.then((code) => r({ code }));
      timer = setTimeout(() => r('timeout'), timeoutMs);
    });
    clearTimeout(timer);
    const fail = (stage: string, message: string): never => {
      holder.kill('SIGKILL');
      throw new LightNodeError('IO_ERROR', `disk-full: ${message}`, { ...context, stage, stderr: err.trim() });
    };
    if (outcome === 'timeout')
      fail(
        'namespace',
        `unshare -rm + mount -t tmpfs on ${path} did not finish within ${timeoutMs} ms (${err.trim()})`,
      );
    else if (typeof outcome === 'object' && 'spawn' in outcome)
      fail('namespace', `cannot run unshare (util-linux) to make a mount namespace: ${outcome.spawn.message}`);
    else if (typeof outcome === 'object' && outcome.code === MOUNT_FAILED)
      fail(
        'mount',
        `cannot mount a ${o.sizeMiB} MiB tmpfs on ${path} in its namespace: ${err.trim() || 'mount failed'}`,
      );
    else if (typeof outcome === 'object')
      fail(
        'namespace',
        `cannot make a user + mount namespace (unshare -rm exited ${outcome.code}): ${err.trim()}; unprivileged ` +
          'user namespaces must be allowed (sysctl kernel.unprivileged_userns_clone=1, ' +
          'kernel.apparmor_restrict_unprivileged_userns=0) or the bench run where they are',
      );
    const t = new Tmpfs(path, o.sizeMiB, holder, gone);
    try {
      const s = await statfs(t.hostPath);
      if (s.type !== TMPFS_MAGIC) throw new Error(`statfs type 0x${s.type.toString(16)} is no tmpfs`);
    } catch (e) {
      await t.dispose();
      throw new LightNodeError(
        'IO_ERROR',
        `disk-full: the tmpfs on ${path} cannot be reached from outside its namespace at ${t.hostPath}: ` +
          (e as Error).message,
        { ...context, stage: 'mount' },
      );
    }
    return t;
  }

  /** The holder's pid: its namespace is the tmpfs's. */
  get pid(): number {
    return this.holder.pid ?? -1;
  }
  /** The mount point seen from outside the namespace. */
  get hostPath(): string {
    return `/proc/${this.pid}${join('/root', this.path)}`;
  }
  /** The ballast file, seen from outside. */
  get ballastPath(): string {
    return join(this.hostPath, 'ballast');
  }
  /** The command prefix that runs a command in the namespace (`nsenter` execs it: no extra process). */
  get enter(): string[] {
    this.alive();
    return ['nsenter', '-t', String(this.pid), '-U', '-m', '--preserve-credentials', `--wd=${process.cwd()}`, '--'];
  }

  /** `startAgent` inside the namespace: the agent's stateDir (its config's) must be `path`. */
  startAgent(configPath: string, env: Record<string, string> = {}): AgentProcess {
    return startAgent(configPath, env, this.enter);
  }

  /** `lightnode ARGS…` inside the namespace (e.g. `buffer verify --db PATH/outbox.db` after the agent stopped). */
  cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    return cli(args, this.enter);
  }

  /** Writes ballast until the tmpfs says ENOSPC; resolves with the bytes written this time. */
  async fill(): Promise<number> {
    this.alive();
    const limit = this.sizeMiB * MiB + CHUNK.length;
    const fh = await open(this.ballastPath, 'a');
    let bytes = 0;
    try {
      while (bytes <= limit) {
        try {
          bytes += (await fh.write(CHUNK)).bytesWritten;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return bytes;
          throw new LightNodeError(
            'IO_ERROR',
            `disk-full: writing ballast ${this.ballastPath}: ${(e as Error).message}`,
            {
              path: this.path,
            },
          );
        }
      }
    } finally {
      await fh.close();
    }
    throw new LightNodeError('IO_ERROR', `disk-full: ${bytes} B of ballast and still no ENOSPC on ${this.path}`, {
      path: this.path,
      sizeMiB: this.sizeMiB,
    });
  }

  /** Removes the ballast; resolves with the bytes freed (0 when there was none). */
  async free(): Promise<number> {
    this.alive();
    const s = await stat(this.ballastPath).catch(() => null);
    await rm(this.ballastPath, { force: true });
    return s?.size ?? 0;
  }

  async usage(): Promise<TmpfsUsage> {
    this.alive();
    const s = await statfs(this.hostPath);
    const ballast = await stat(this.ballastPath).catch(() => null);
    return {
      sizeBytes: s.blocks * s.bsize,
      usedBytes: (s.blocks - s.bfree) * s.bsize,
      freeBytes: s.bavail * s.bsize,
      ballastBytes: ballast?.size ?? 0,
    };
  }

  /** Lets the holder go (SIGKILL after 5 s): the tmpfs and its files are gone once no agent is left inside. */
  async dispose(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.holder.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), 5000)));
    if ((await Promise.race([this.gone, late])) === 'late') this.holder.kill('SIGKILL');
    clearTimeout(timer);
    await this.gone;
  }

  private alive(): void {
    if (this.exitCode !== undefined)
      throw new LightNodeError('IO_ERROR', `disk-full: the namespace of the tmpfs on ${this.path} is gone`, {
        path: this.path,
        holderExit: this.exitCode,
      });
  }
}

/** `lightnode agent` with its stateDir on a tmpfs of its own (see `startAgentOnTmpfs`). */
export interface AgentOnTmpfs extends AgentProcess {
  tmpfs: Tmpfs;
  /** `tmpfs.fill()`: ballast until ENOSPC, the bytes written. */
  fill(): Promise<number>;
  /** `tmpfs.free()`: the ballast removed, the bytes freed. */
  free(): Promise<number>;
  usage(): Promise<TmpfsUsage>;
  /** SIGTERM, SIGKILL after `killAfterMs` (default 20 000); the exit code (null: killed). The tmpfs stays. */
  stop(killAfterMs?: number): Promise<number | null>;
  /** `stop()`, then the namespace released: the tmpfs and the outbox on it are gone. */
  dispose(): Promise<void>;
}

export interface AgentOnTmpfsOptions {
  configPath: string;
  /** The agent's stateDir (its config must name the same directory): the tmpfs's mount point. */
  stateDir: string;
  sizeMiB: number;
  /** Added to this process's environment (as for `startAgent`). */
  env?: Record<string, string>;
}

/**
 * Starts `lightnode agent --config configPath` with `stateDir` on a `sizeMiB` tmpfs of its own mount namespace.
 * Throws IO_ERROR naming the stage (`namespace` or `mount`) when the namespace or the tmpfs cannot be made.
 */
export async function startAgentOnTmpfs(o: AgentOnTmpfsOptions): Promise<AgentOnTmpfs> {
  const stateDir = resolve(o.stateDir);
  const configured = configuredStateDir(o.configPath);
  if (configured !== undefined && resolve(configured) !== stateDir)
    throw new LightNodeError(
      'USAGE',
      `disk-full: ${o.configPath} has stateDir ${configured}, the tmpfs is ${stateDir}`,
      {
        configPath: o.configPath,
        stateDir,
      },
    );
  const tmpfs = await Tmpfs.mount({ path: stateDir, sizeMiB: o.sizeMiB });
  const agent = tmpfs.startAgent(o.configPath, o.env ?? {});
  let code: number | null | undefined;
  void agent.exited.then((c) => (code = c));
  const stop = async (killAfterMs = 20_000): Promise<number | null> => {
    if (code !== undefined) return code;
    agent.child.kill('SIGTERM');
    const timer = setTimeout(() => agent.child.kill('SIGKILL'), killAfterMs);
    const c = await agent.exited;
    clearTimeout(timer);
    return c;
  };
  return {
    ...agent,
    tmpfs,
    fill: () => tmpfs.fill(),
    free: () => tmpfs.free(),
    usage: () => tmpfs.usage(),
    stop,
    dispose: async () => {
      await stop();
      await tmpfs.dispose();
    },
  };
}

function configuredStateDir(configPath: string): string | undefined {
  try {
    const c = JSON.parse(readFileSync(configPath, 'utf8')) as { stateDir?: unknown };
    return typeof c.stateDir === 'string' ? c.stateDir : undefined;
  } catch {
    return undefined; // not JSON: the agent itself will say what is wrong with it
  }
}
