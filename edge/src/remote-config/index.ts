export {
  LOCAL_KEYS,
  checkRemoteConfig,
  mergeRemote,
  protectedKey,
  type CheckContext as ConfigCheckContext,
  type CheckOutcome as ConfigCheckOutcome,
} from './checks.js';
export { ConfigFiles, type ConfigStatus, type HistoryEntry, type StoredConfig } from './state.js';
export { RemoteConfigAgent, type RemoteConfigAgentOptions } from './supervisor.js';
