/**
 * Systemd agents of a HIL run (`mode: systemd`): the installed Debian package (`ensureDeb`, `dpkg -i` into a copy of
 * the deploy tests' cached bookworm root, cached per .deb) in a throw-away copy of that root booted with
 * systemd-nspawn (`deploy/nspawn.ts`: the container shares the host's network, so the run's broker, link proxy and
 * TCP meters on 127.0.0.1 are reachable). The generated config is `/etc/lightnode/agent.json`, so the shipped
 * `lightnode-agent.service` starts at boot, as on a device; the device key is the one `lightnode-keygen.service` made.
 * The clock step and failpoints reach the agent through a drop-in of the unit (`LIGHTNODE_CLOCK` with a step file in
 * /etc/lightnode, `LIGHTNODE_FAILPOINTS`). The status socket and the outbox are read through the root's path on the
 * host.
 *
 * kill9 = SIGKILL of the unit's main PID inside the container; the unit's own policy (`Restart=on-failure`,
 * `RestartSec=5`, `StartLimitBurst=5` in 120 s) restarts it, and this agent follows that restart at once (an event
 * `systemd-restart` says after how long): the timeline's `restartAfterS` does not apply. stop / start = `systemctl
 * stop` / `systemctl start` of the unit inside; the log is the unit's journal. Exits not asked for (a crash, the
 * watchdog) are recorded as crashes and followed the same way.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LightNodeError } from '@lightnode/protocols';
import { cacheDir, ensureDeb } from '../deploy/artifacts.js';
import { BootedContainer, ensureBaseRoot, run } from '../deploy/nspawn.js';
import type { Tmpfs } from './disk.js';
import { rssMB } from './agents.js';
import type { HilAgent } from './hil-agent.js';
import { statusAnswers } from './status-socket.js';
import type { Scenario, ScenarioAgent } from './scenario.js';

type Obj = Record<string, unknown>;
export const AGENT_UNIT = 'lightnode-agent.service';
/** The unit's StateDirectory: the key, the status socket and the outbox. */
const STATE = '/var/lib/lightnode';
/** Readable by the agent under ProtectSystem=strict, written by the host through the root's path. */
const STEP_FILE = '/etc/lightnode/clock-step';
const DROP_IN = `/etc/systemd/system/${AGENT_UNIT}.d/50-hil.conf`;

/**
 * The deploy tests' cached bookworm root with the current amd64 package installed (`dpkg -i` in a chroot, as the
 * package's offline install test does), in out/cache/nspawn-lightnode-<sha of the .deb>; older ones are removed.
 */
export async function ensureAgentRoot(): Promise<string> {
  const deb = ensureDeb('amd64');
  const sum = createHash('sha256').update(readFileSync(deb)).digest('hex').slice(0, 16);
  const dir = join(cacheDir, `nspawn-lightnode-${sum}`);
  if (existsSync(join(dir, 'usr', 'bin', 'lightnode'))) return dir;
  const base = await ensureBaseRoot(cacheDir);
  for (const old of readdirSync(cacheDir).filter((n) => n.startsWith('nspawn-lightnode-')))
    rmSync(join(cacheDir, old), { recursive: true, force: true });
  const tmp = `${dir}.tmp`;
  const cp = await run('cp', ['-a', base, tmp], { timeoutMs: 300_000 });
  if (cp.code !== 0) throw new LightNodeError('IO_ERROR', `cp -a ${base} ${tmp}: ${cp.err}`);
  copyFileSync(deb, join(tmp, 'tmp', 'lightnode.deb'));
  const i = await run('chroot', [tmp, 'dpkg', '-i', '/tmp/lightnode.deb'], { timeoutMs: 300_000 });
  if (i.code !== 0)
    throw new LightNodeError('IO_ERROR', `dpkg -i ${deb} in ${tmp} failed (exit ${i.code}): ${i.out}\n${i.err}`);
  rmSync(join(tmp, 'tmp', 'lightnode.deb'));
  renameSync(tmp, dir);
  return dir;
}

/**
 * What the runner cannot do with the scenario's systemd agents, or null: a disk-full (their store is the container's
 * /var/lib/lightnode, not a tmpfs of the runner's), an RTU meter or a serial Chain 2 dongle (their ptys are the host's).
 */
export function systemdUnsupported(s: Scenario): string | null {
  for (const a of s.agents.filter((x) => x.mode === 'systemd')) {
    if (s.timeline.some((e) => e.do === 'disk-full' && e.agent === a.id))
      return `agent ${a.id} (mode systemd): disk-full is not supported for systemd agents (their store is the container's ${STATE}); use mode process`;
    const serial = s.devices.find(
      (d) =>
        a.devices.includes(d.id) &&
        ((d.kind === 'meter' && 'rtu' in d && d.rtu) || (d.kind === 'chain2' && d.transport === 'serial')),
    );
    if (serial)
      return `agent ${a.id} (mode systemd): device ${serial.id} is on a serial pty of the host, which the container does not see; use tcp / ws / http, or mode process`;
  }
  return null;
}

/** The host PID of the process whose PID is `inner` in the PID namespace of `init` (the container's PID 1). */
function hostPidOf(init: number, inner: number): number | null {
  const ns = readlinkSync(`/proc/${init}/ns/pid`);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/ns/pid`) !== ns) continue;
      const ids = /^NSpid:\s+(.*)$/m
        .exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1]
        ?.trim()
        .split(/\s+/);
      if (Number(ids?.at(-1)) === inner) return Number(d);
    } catch {
      /* gone meanwhile */
    }
  }
  return null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One systemd agent: a booted container of its own running the packaged unit. */
export class SystemdAgent implements HilAgent {
  /** The copy of the root (host path; removed by the runner after `dispose()`). */
  readonly dir: string;
  readonly configPath: string;
  readonly socket: string;
  readonly db: string;
  readonly stepFile: string;
  readonly stateDir: string;
  /** Never a tmpfs (disk-full is refused for systemd agents). */
  tmpfs: Tmpfs | null = null;
  stepMs = 0;
  readonly up: { fromMs: number; toMs: number | null }[] = [];
  readonly crashes: string[] = [];
  /** Told what systemd did (a restart of its own after a kill or a crash). */
  onEvent: (what: string, detail: string) => void = () => undefined;
  private c: BootedContainer | null = null;
  private main: { inner: number; host: number } | null = null;
  private span: { fromMs: number; toMs: number | null } | null = null;
  private starting: Promise<void> | null = null;
  private expectExit = false;
  /** The main PID that went last (a restart has another) and when. */
  private lastInner: number | null = null;
  private exitAtMs: number | null = null;
  private watch: NodeJS.Timeout | undefined;
  private journalText = '';
  private readonly config: Obj;

  /** `config(dir, stateDir)` is the agent config (given the unit's StateDirectory); `root()` the cached root. */
  constructor(
    readonly spec: ScenarioAgent,
    config: (dir: string, stateDir: string) => Obj,
    private readonly speed: number,
    private readonly root: () => Promise<string> = ensureAgentRoot,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'ln-systemd-'));
    this.config = config(STATE, STATE);
    this.configPath = join(this.dir, 'etc', 'lightnode', 'agent.json');
    this.socket = join(this.dir, STATE, 'agent.sock');
    this.stateDir = join(this.dir, STATE);
    this.db = join(this.stateDir, 'outbox.db');
    this.stepFile = join(this.dir, STEP_FILE);
  }

  get id(): string {
    return this.spec.id;
  }
  /** The host PID of the unit's main process (for its RSS), null when it is not up. */
  get pid(): number | null {
    return this.main?.host ?? null;
  }
  get running(): boolean {
    return this.main !== null;
  }
  /** `lightnode buffer …` reads the outbox through the root's path on the host: no wrapper. */
  get wrap(): string[] {
    return [];
  }

  private get box(): BootedContainer {
    if (!this.c) throw new LightNodeError('USAGE', `agent ${this.id}: its container is not booted (init() first)`);
    return this.c;
  }

  /** Copies the cached root, writes the config, the step file and the drop-in, and boots (the unit starts). */
  async init(): Promise<void> {
    const base = await this.root();
    const cp = await run('cp', ['-a', `${base}/.`, `${this.dir}/`], { timeoutMs: 300_000 });
    if (cp.code !== 0) throw new LightNodeError('IO_ERROR', `agent ${this.id}: cp -a ${base} ${this.dir}: ${cp.err}`);
    const env = [`LIGHTNODE_CLOCK=stepFile=${STEP_FILE}${this.speed !== 1 ? `,speed=${this.speed}` : ''}`];
    if (this.spec.failpoints.length) env.push(`LIGHTNODE_FAILPOINTS=${this.spec.failpoints.join(',')}`);
    const files: [string, string][] = [
      ['/etc/lightnode/agent.json', JSON.stringify(this.config, null, 2) + '\n'],
      [STEP_FILE, '0\n'],
      [DROP_IN, `[Service]\n${env.map((e) => `Environment="${e}"\n`).join('')}`],
    ];
    for (const [p, text] of files) {
      mkdirSync(dirname(join(this.dir, p)), { recursive: true });
      writeFileSync(join(this.dir, p), text, { mode: 0o644 });
    }
    this.c = await BootedContainer.boot(this.dir, { timeoutMs: 120_000 }).catch((e: Error) => {
      throw new LightNodeError('IO_ERROR', `agent ${this.id}: booting its container failed: ${e.message}`);
    });
  }

  /** Mounts nothing: systemd agents have no tmpfs (see `systemdUnsupported`). */
  async mountTmpfs(): Promise<void> {}

  private async props(): Promise<Record<string, string>> {
    return this.box.show(AGENT_UNIT, [
      'ActiveState',
      'SubState',
      'Result',
      'MainPID',
      'NRestarts',
      'ExecMainStatus',
      'ExecMainCode',
    ]);
  }

  /** The unit's journal (`journalctl -u`, monotonic timestamps), kept for `log()`. */
  async journal(lines = 400): Promise<string> {
    if (!this.c) return this.journalText;
    const r = await this.c.exec([
      'journalctl',
      '-u',
      AGENT_UNIT,
      '-n',
      String(lines),
      '--no-pager',
      '-o',
      'short-monotonic',
    ]);
    if (r.code === 0) this.journalText = r.out;
    return this.journalText;
  }

  /**
   * Resolves once the unit's main process answers on its status socket: starts the unit (`systemctl start
   * --no-block`) unless systemd is starting or restarting it already.
   */
  start(): Promise<void> {
    if (this.main) return Promise.resolve();
    this.starting ??= this.follow().finally(() => (this.starting = null));
    return this.starting;
  }

  private async follow(): Promise<void> {
    const since = this.exitAtMs ?? Date.now();
    let asked = false; // systemctl start issued by us (else systemd brings the unit up by itself)
    const until = Date.now() + 60_000;
    for (;;) {
      const p = await this.props();
      const inner = Number(p.MainPID);
      const fresh = inner > 0 && inner !== this.lastInner;
      if (p.ActiveState === 'active' && p.SubState === 'running' && fresh && (await statusAnswers(this.socket))) {
        const host = hostPidOf(this.box.init, inner);
        if (host !== null) {
          this.main = { inner, host };
          this.span = { fromMs: Date.now(), toMs: null };
          this.up.push(this.span);
          if (!asked && this.lastInner !== null)
            this.onEvent(
              'systemd-restart',
              `restarted by systemd (Restart=on-failure) as pid ${host} (${inner} in the container), up ${Date.now() - since} ms after ${this.lastInner} died; NRestarts ${p.NRestarts}`,
            );
          this.watch ??= setInterval(() => this.check(), 100);
          return;
        }
      }
      if (p.ActiveState === 'failed' || Date.now() > until)
        throw new LightNodeError(
          'IO_ERROR',
          `agent ${this.id}: ${AGENT_UNIT} ${p.ActiveState}/${p.SubState} (result ${p.Result}), no answer on ${this.socket}${p.Result === 'start-limit-hit' ? ' (StartLimitBurst=5 in 120 s counts every restart)' : ''}\n${await this.journal(40)}`,
          { agent: this.id },
        );
      // only a settled unit is started: a start job queued while systemd stops or restarts it changes what it does
      if (p.ActiveState === 'inactive' && !asked) {
        const r = await this.box.exec(['systemctl', 'start', '--no-block', AGENT_UNIT]);
        if (r.code !== 0) throw new LightNodeError('IO_ERROR', `agent ${this.id}: systemctl start: ${r.err}`);
        asked = true;
      }
      await sleep(50);
    }
  }

  /** An exit not asked for: a crash; systemd restarts the unit and this agent follows it. */
  private check(): void {
    const m = this.main;
    if (!m || this.expectExit || existsSync(`/proc/${m.host}`)) return;
    this.gone();
    const i = this.crashes.push(`pid ${m.inner} (in the container) exited, not asked for`) - 1;
    void this.journal(30).then((j) => (this.crashes[i] += `\n${j.slice(-1500)}`));
    void this.start().catch((e: Error) => this.onEvent('restart-failed', e.message.split('\n')[0]!));
  }

  private gone(): void {
    this.exitAtMs = Date.now();
    this.lastInner = this.main?.inner ?? this.lastInner;
    if (this.span) this.span.toMs = Date.now();
    this.span = null;
    this.main = null;
  }

  /**
   * SIGKILL of the main PID inside the container; resolves once it is gone (saying which PID, host and inside), systemd
   * restarting it.
   */
  async kill9(): Promise<string> {
    if (this.starting) await this.starting;
    const m = this.main;
    if (!m) throw new LightNodeError('USAGE', `kill9 ${this.id}: the agent is not running`, { agent: this.id });
    this.expectExit = true;
    try {
      const r = await this.box.exec(['sh', '-c', `kill -KILL ${m.inner}`]); // the shell's kill: the root has no procps
      if (r.code !== 0) throw new LightNodeError('IO_ERROR', `kill9 ${this.id}: kill -KILL ${m.inner}: ${r.err}`);
      const until = Date.now() + 10_000;
      while (existsSync(`/proc/${m.host}`) && Date.now() < until) await sleep(10);
      this.gone();
    } finally {
      this.expectExit = false;
    }
    void this.start().catch((e: Error) => this.onEvent('restart-failed', e.message.split('\n')[0]!));
    return `SIGKILL pid ${m.host} (${m.inner} in the container; the unit's Restart= brings it back)`;
  }

  /** The agent's process's resident set, MB (read on the host through its host PID), or null. */
  rssMB(): number | null {
    const pid = this.pid;
    return pid === null ? null : rssMB(pid);
  }

  /** `systemctl stop` inside (SIGTERM, the agent drains); resolves with the main process's exit status. */
  async stop(): Promise<number | null> {
    if (this.starting) await this.starting.catch(() => undefined);
    if (!this.c || !this.main) return null;
    this.expectExit = true;
    try {
      const r = await this.c.exec(['systemctl', 'stop', AGENT_UNIT], { timeoutMs: 30_000 });
      if (r.code !== 0) throw new LightNodeError('IO_ERROR', `agent ${this.id}: systemctl stop: ${r.err}`);
      this.gone();
      const p = await this.props();
      return Number(p.ExecMainStatus);
    } finally {
      this.expectExit = false;
    }
  }

  /** Steps the agent's clock by `stepS` more (its step file, re-read by the agent every second). */
  clockStep(stepS: number): number {
    this.stepMs += Math.round(stepS * 1000);
    this.box.writeFile(STEP_FILE, `${this.stepMs}\n`);
    return this.stepMs;
  }

  /** The unit's journal as last read (at each stop, crash and at dispose). */
  log(): string {
    return this.journalText;
  }

  /** Stops the unit, keeps its journal, powers the container off (the root copy stays for the outbox reads). */
  async dispose(): Promise<void> {
    clearInterval(this.watch);
    if (!this.c) return;
    await this.stop().catch(() => undefined);
    await this.journal();
    await this.c.poweroff();
    this.c = null;
  }
}
