/**
 * The setpoint controller's own names for the shapes it uses: its options (`config.setpoints`), the asset limits it
 * clamps to (`assets[].limits`, powers W, ESS convention: discharge positive), and the ESS adapter it drives.
 */
import type { AgentConfig, AssetConfig } from '@lightnode/protocols';

export type SetpointsOptions = NonNullable<AgentConfig['setpoints']>;
export type EssLimits = AssetConfig['limits'];
export type { EssAdapter, EssState } from '../ess/index.js';
