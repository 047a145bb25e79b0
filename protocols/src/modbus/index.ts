// Public surface of protocols/modbus: register types, device profiles (data) and their schema, the read planner.
export * from './registers.js';
export * from './profile.js';
export * from './registry.js';
export * from './planner.js';
export * from './frames.js';
export * from './image.js';
export * from './identify.js';
