export * from './battery.js';
export * from './faults.js';
export * from './site.js';
export * from './ems.js';
export { serveRestEms, newEmsToken, type RestEms } from './rest.js';
export { serveMqttEms, type MqttEms } from './mqtt.js';
export { modbusBattery, SUNSPEC_MODEL_PROFILES, type ModbusBatteryOptions } from './modbus-device.js';
export * from './start.js';
export { spawnEssSim, type EssChild, type EssListening } from './child.js';
