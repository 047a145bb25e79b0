export * from './agent.js';
export * from './config-file.js';
export * from './loop.js';
export * from './shipper.js';
export * from './status.js';
export * from './systemd.js';
export * from './notify-socket.js';
export * from './wiring.js';
