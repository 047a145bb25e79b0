/** The agent's composition root: config → logger → Agent, wired to the process (signals, stderr). */
import {
  LightNodeError,
  createLogger,
  parseFailpoints,
  systemClock,
  type CommandIo,
  type LogLevel,
} from '@lightnode/protocols';
import { RemoteConfigAgent } from '../remote-config/supervisor.js';
import { nodeCronScheduler } from '../jobs/index.js';
import { envClock } from './clock-knob.js';
import { loadAgentConfig } from './config-file.js';
import { notifySocketSink } from './notify-socket.js';
import { SystemdNotifier } from './systemd.js';

export async function runAgent(o: { configPath: string; logLevel: string; io: CommandIo }): Promise<number> {
  const levels = ['trace', 'debug', 'info', 'warn', 'error'];
  if (!levels.includes(o.logLevel))
    throw new LightNodeError(
      'USAGE',
      `--log-level: expected ${levels.join('|')}, received ${JSON.stringify(o.logLevel)}`,
    );
  const config = loadAgentConfig(o.configPath);
  const logger = createLogger({ level: o.logLevel as LogLevel, sink: (l) => o.io.stderr(l) });
  // test knobs (edge/README.md § Test knobs): checked before anything starts; the wiring reads the failpoints
  parseFailpoints(o.io.env.LIGHTNODE_FAILPOINTS);
  const testClock = envClock(o.io.env, { logger });
  const clock = testClock?.clock ?? systemClock;
  try {
    // systemd: datagrams to NOTIFY_SOCKET from this process; WATCHDOG_USEC paces the watchdog
    const notifier = new SystemdNotifier(notifySocketSink(o.io.env), clock, o.io.env);
    // with `remoteConfig`, the pipeline runs on the applied revision and restarts on each accepted one
    const agent = new RemoteConfigAgent({
      base: config,
      deps: {
        clock,
        logger,
        notifier,
        scheduler: nodeCronScheduler(logger),
        env: o.io.env,
        ...(testClock ? { clockStatus: () => testClock.status() } : {}),
      },
    });
    await agent.start();
    await new Promise<void>((resolve) => {
      if (o.io.signal.aborted) return resolve();
      o.io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await agent.stop({ drainMs: 2000 });
    return 0;
  } finally {
    testClock?.stop();
  }
}
