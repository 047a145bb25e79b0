/**
 * Modbus client transports. The `ModbusTransport` interface is what the bus scheduler drives: one request at a time,
 * each with its own unit id and timeout. Real implementations use modbus-serial (RTU over serialport, TCP client);
 * tests use `FakeModbusTransport` (edge/src/testing); the simulators in hw-test serve real bytes.
 * Errors are `LightNodeError`s naming the device and cause: MODBUS_TIMEOUT, MODBUS_EXCEPTION (with the exception
 * code), MODBUS_CRC / MODBUS_FRAME (a bad reply), MODBUS_CONNECT, MODBUS_PORT_BUSY, MODBUS_PORT_MISSING.
 */
import ModbusSerial from 'modbus-serial';
import { LightNodeError, MODBUS_EXCEPTIONS } from '@lightnode/protocols';

// modbus-serial is CommonJS: from ESM its class is the `default` export of the module object.
const ModbusRTU = ModbusSerial.default;

export type ModbusRead = { fc: 1 | 2 | 3 | 4; unit: number; address: number; count: number; timeoutMs: number };
export type ModbusWrite = { fc: 6 | 16; unit: number; address: number; values: number[]; timeoutMs: number };

export interface ModbusTransport {
  /** Human-readable endpoint, e.g. `tcp://127.0.0.1:502` or `rtu:///dev/ttyUSB0@9600,8N1`. */
  readonly endpoint: string;
  readonly kind: 'tcp' | 'rtu';
  open(): Promise<void>;
  /** Registers (FC 03/04) or bits as 0/1 (FC 01/02). */
  read(r: ModbusRead): Promise<number[]>;
  write(w: ModbusWrite): Promise<void>;
  /** Final: a request in flight is rejected, and no later open/read/write reconnects (they reject). */
  close(): Promise<void>;
}

export interface SerialSettings {
  path: string;
  baud: number;
  parity: 'none' | 'even' | 'odd';
  dataBits?: 7 | 8;
  stopBits?: 1 | 2;
}

/** Maps a modbus-serial / OS error to our error codes, naming the endpoint and unit. */
export function mapModbusError(e: unknown, endpoint: string, unit?: number, what?: string): LightNodeError {
  if (e instanceof LightNodeError) return e;
  const err = e as { message?: string; errno?: string; code?: string; modbusCode?: number };
  const msg = err?.message ?? String(e);
  const dev = `${endpoint}${unit !== undefined ? ` unit ${unit}` : ''}${what ? ` (${what})` : ''}`;
  if (typeof err?.modbusCode === 'number')
    return new LightNodeError(
      'MODBUS_EXCEPTION',
      `${dev}: exception ${err.modbusCode} (${MODBUS_EXCEPTIONS[err.modbusCode] ?? 'unknown'})`,
      {
        endpoint,
        unit,
        exception: err.modbusCode,
      },
    );
  if (err?.errno === 'ETIMEDOUT' || /timed out/i.test(msg))
    return new LightNodeError('MODBUS_TIMEOUT', `${dev}: no answer in time`, { endpoint, unit }, { cause: e });
  if (/CRC/i.test(msg))
    return new LightNodeError('MODBUS_CRC', `${dev}: reply failed its CRC`, { endpoint, unit }, { cause: e });
  if (err?.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg))
    return new LightNodeError('MODBUS_CONNECT', `${dev}: connection refused`, { endpoint }, { cause: e });
  if (err?.code === 'ENOENT' || /No such file|ENOENT|cannot open/i.test(msg))
    return new LightNodeError(
      'MODBUS_PORT_MISSING',
      `${dev}: serial port not found (${msg})`,
      { endpoint },
      { cause: e },
    );
  if (/lock|busy|EBUSY|EACCES/i.test(msg))
    return new LightNodeError(
      'MODBUS_PORT_BUSY',
      `${dev}: serial port busy or not accessible (${msg})`,
      { endpoint },
      { cause: e },
    );
  if (/Port Not Open|not open|EPIPE|ECONNRESET|closed/i.test(msg))
    return new LightNodeError('MODBUS_CONNECT', `${dev}: connection lost (${msg})`, { endpoint }, { cause: e });
  if (/data length|Unit ID|unexpected|function code|length/i.test(msg))
    return new LightNodeError('MODBUS_FRAME', `${dev}: malformed reply (${msg})`, { endpoint, unit }, { cause: e });
  return new LightNodeError('MODBUS_CONNECT', `${dev}: ${msg}`, { endpoint, unit }, { cause: e });
}

/**
 * A modbus-serial client (TCP or RTU). Reconnects lazily after a lost connection, until `close()`: closed means
 * closed (no reopen, the request in flight rejected at once), so no orphan socket or port outlives its owner.
 */
export class ModbusSerialTransport implements ModbusTransport {
  private client = new ModbusRTU();
  private opened = false;
  private closed = false;
  /** Rejecters of the requests (and connect) in flight, called by `close()`. */
  private readonly inFlight = new Set<(e: LightNodeError) => void>();
  readonly endpoint: string;
  readonly kind: 'tcp' | 'rtu';

  constructor(
    private readonly target:
      { tcp: { host: string; port: number; connectTimeoutMs?: number } } | { rtu: SerialSettings },
  ) {
    if ('tcp' in target) {
      this.kind = 'tcp';
      this.endpoint = `tcp://${target.tcp.host}:${target.tcp.port}`;
    } else {
      this.kind = 'rtu';
      const s = target.rtu;
      this.endpoint = `rtu://${s.path}@${s.baud},${s.dataBits ?? 8}${s.parity[0]!.toUpperCase()}${s.stopBits ?? 1}`;
    }
  }

  private closedError(what: string): LightNodeError {
    return new LightNodeError('MODBUS_CONNECT', `${this.endpoint}: transport closed (${what})`, {
      endpoint: this.endpoint,
      closed: true,
    });
  }

  /** Runs one step against the client; `close()` rejects it at once instead of waiting for the wire. */
  private guarded<T>(what: string, step: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError(what));
    return new Promise<T>((resolve, reject) => {
      const cancel = (e: LightNodeError): void => reject(e);
      this.inFlight.add(cancel);
      step().then(
        (v) => {
          this.inFlight.delete(cancel);
          resolve(v);
        },
        (e: Error) => {
          this.inFlight.delete(cancel);
          reject(e);
        },
      );
    });
  }

  async open(): Promise<void> {
    if (this.closed) throw this.closedError('open');
    if (this.opened && this.client.isOpen) return;
    const client = new ModbusRTU();
    this.client = client;
    try {
      await this.guarded('open', async () => {
        if ('tcp' in this.target) {
          await client.connectTCP(this.target.tcp.host, {
            port: this.target.tcp.port,
            timeout: this.target.tcp.connectTimeoutMs ?? 3000,
          });
          // request/response: a request must not wait behind the last one's unacknowledged segment (Nagle, up to a
          // 40 ms delayed ACK); modbus-serial keeps its socket in `_port._client`
          (
            client as unknown as { _port?: { _client?: { setNoDelay?(on: boolean): void } } }
          )._port?._client?.setNoDelay?.(true);
        } else {
          const s = this.target.rtu;
          await client.connectRTUBuffered(s.path, {
            baudRate: s.baud,
            parity: s.parity,
            dataBits: s.dataBits ?? 8,
            stopBits: s.stopBits ?? 1,
          });
        }
        // closed while connecting: the new connection must not outlive the close
        if (this.closed) await closeClient(client);
      });
      this.opened = true;
    } catch (e) {
      throw mapModbusError(e, this.endpoint);
    }
  }

  async read(r: ModbusRead): Promise<number[]> {
    await this.open();
    this.client.setID(r.unit);
    this.client.setTimeout(r.timeoutMs);
    try {
      return await this.guarded(`fc ${r.fc}`, () => this.readNow(r));
    } catch (e) {
      throw this.fail(e, r.unit, `fc ${r.fc} @${r.address}×${r.count}`);
    }
  }

  private async readNow(r: ModbusRead): Promise<number[]> {
    switch (r.fc) {
      case 1:
        return (await this.client.readCoils(r.address, r.count)).data
          .slice(0, r.count)
          .map((b: boolean) => (b ? 1 : 0));
      case 2:
        return (await this.client.readDiscreteInputs(r.address, r.count)).data
          .slice(0, r.count)
          .map((b: boolean) => (b ? 1 : 0));
      case 3:
        return (await this.client.readHoldingRegisters(r.address, r.count)).data;
      case 4:
        return (await this.client.readInputRegisters(r.address, r.count)).data;
    }
  }

  async write(w: ModbusWrite): Promise<void> {
    await this.open();
    this.client.setID(w.unit);
    this.client.setTimeout(w.timeoutMs);
    try {
      await this.guarded(`fc ${w.fc}`, async () => {
        if (w.fc === 6) await this.client.writeRegister(w.address, w.values[0]!);
        else await this.client.writeRegisters(w.address, w.values);
      });
    } catch (e) {
      throw this.fail(e, w.unit, `fc ${w.fc} @${w.address}`);
    }
  }

  private fail(e: unknown, unit: number, what: string): LightNodeError {
    const err = mapModbusError(e, this.endpoint, unit, what);
    if (err.code === 'MODBUS_CONNECT') this.opened = false;
    return err;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.opened = false;
    for (const cancel of [...this.inFlight]) cancel(this.closedError('closed with the request in flight'));
    this.inFlight.clear();
    await closeClient(this.client);
  }
}

async function closeClient(client: InstanceType<typeof ModbusRTU>): Promise<void> {
  if (!client.isOpen) return; // modbus-serial never calls back close() on a port that did not open
  await new Promise<void>((resolve) => {
    const guard = setTimeout(resolve, 1000);
    try {
      client.close(() => {
        clearTimeout(guard);
        resolve();
      });
    } catch {
      clearTimeout(guard);
      resolve();
    }
  });
}
