/** The adapter of a configured asset. PLACEHOLDER until the adapters land (issue 11 item 5): refuses every asset. */
import { LightNodeError, type AssetConfig } from '@lightnode/protocols';
import type { EssAdapter, EssAdapterContext } from './types.js';

export function createEssAdapter(asset: AssetConfig, _ctx: EssAdapterContext): EssAdapter {
  throw new LightNodeError('CONFIG_INVALID', `assets.${asset.id}: adapter not built yet`, { asset: asset.id });
}
