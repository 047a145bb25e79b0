// Signed updates with rollback (issue 14 item 6): minisign, bundles, the lifecycle and its operations.
export * from './minisign.js';
export * from './tar.js';
export * from './tree.js';
export * from './bundle.js';
export * from './bundle-file.js';
export * from './state.js';
export * from './store.js';
export * from './systemctl.js';
export * from './lock.js';
export * from './ops.js';
export * from './incoming.js';
