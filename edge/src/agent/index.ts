export * from './agent.js';
export * from './config-file.js';
export * from './shipper.js';
export * from './systemd.js';
export * from './notify-socket.js';
