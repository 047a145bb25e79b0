/**
 * The simulated MQTT EMS: subscribes `{topic}/set` (the REST PUT's JSON; `{}` releases), publishes the state JSON
 * retained on `{topic}/state` at every change and every `stateEveryMs` (default 5000). A malformed command is
 * answered by a non-retained `{topic}/error` `{error: {code, message}}` (the state stays as it was). Faults: `refuse`
 * → the command is ignored (an error published); `drop-connection` → the client's connection is cut on receipt of
 * a command (the command is lost; the client reconnects).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { LightNodeError, isLightNodeError, type Clock } from '@lightnode/protocols';
import { faultSelected } from './faults.js';
import { applyEmsCommand, parseEmsCommand } from './ems.js';
import type { EssSimulator } from './site.js';

export interface MqttEms {
  url: string;
  topic: string;
  close(): Promise<void>;
}

export async function serveMqttEms(
  sim: EssSimulator,
  o: { clock: Clock; url: string; topic: string; stateEveryMs?: number; random?: () => number },
): Promise<MqttEms> {
  const client: MqttClient = mqtt.connect(o.url, {
    clientId: `ln-sim-ess-${process.pid}-${Math.floor(Math.random() * 1e6)}`,
    reconnectPeriod: 500,
    connectTimeout: 5000,
  });
  const publishState = (): void => {
    if (client.connected) client.publish(`${o.topic}/state`, JSON.stringify(sim.state()), { qos: 1, retain: true });
  };
  const drops = sim.battery.faults('drop-connection');
  client.on('message', (topic, payload) => {
    if (topic !== `${o.topic}/set`) return;
    if (drops.some((f) => faultSelected(f, o.random ?? Math.random))) {
      sim.battery.noteFault('drop-connection');
      client.stream.destroy();
      return;
    }
    try {
      let body: unknown;
      try {
        body = JSON.parse(payload.toString('utf8'));
      } catch (e) {
        throw new LightNodeError('DECODE_ERROR', `${topic}: not JSON (${(e as Error).message})`, { field: 'body' });
      }
      applyEmsCommand(sim, o.clock, parseEmsCommand(body, true));
    } catch (e) {
      const err = isLightNodeError(e) ? e : new LightNodeError('INTERNAL', String(e), {});
      client.publish(`${o.topic}/error`, JSON.stringify({ error: { code: err.code, message: err.message } }));
    }
    publishState();
  });
  client.on('connect', () => {
    client.subscribe(`${o.topic}/set`, { qos: 1 }, () => publishState());
  });
  sim.onEvent(() => publishState());
  let stopped = false;
  let cancel: () => void = () => undefined;
  const periodic = (): void => {
    if (stopped) return;
    cancel = o.clock.setTimer(o.stateEveryMs ?? 5000, () => {
      publishState();
      periodic();
    });
  };
  periodic();
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => {
      client.end(true);
      reject(new LightNodeError('IO_ERROR', `MQTT ${o.url}: ${e.message}`, { url: o.url }, { cause: e }));
    };
    client.once('error', onError);
    client.once('connect', () => {
      client.off('error', onError);
      client.on('error', () => undefined); // reconnects on its own
      resolve();
    });
  });
  return {
    url: o.url,
    topic: o.topic,
    close: async () => {
      stopped = true;
      cancel();
      await client.endAsync();
    },
  };
}
