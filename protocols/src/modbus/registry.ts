/**
 * The profile registry: resolves `$import` (`resolveProfileImports`: the imported fields and points first, then the
 * document's own), validates the built-in profiles (and any extra documents), and looks profiles up by id.
 * `PROFILE_UNKNOWN` names the id and lists the known ones.
 */
import { LightNodeError } from '../errors.js';
import { BUILTIN_PROFILE_DOCS } from './profiles/index.js';
import { parseProfile, resolveProfileImports, type Profile, type ProfileLookup } from './profile.js';

export class ProfileRegistry implements ProfileLookup {
  private readonly byId = new Map<string, Profile>();

  constructor(docs: readonly unknown[] = BUILTIN_PROFILE_DOCS) {
    for (const [i, d] of resolveProfileImports(docs).entries()) {
      const id =
        typeof d === 'object' && d !== null && typeof (d as { id?: unknown }).id === 'string'
          ? (d as { id: string }).id
          : `profiles[${i}]`;
      this.byId.set(id, parseProfile(d, id));
    }
  }

  get(id: string): Profile {
    const p = this.byId.get(id);
    if (!p)
      throw new LightNodeError(
        'PROFILE_UNKNOWN',
        `unknown profile ${JSON.stringify(id)} (known: ${this.list().join(', ')})`,
        { profile: id },
      );
    return p;
  }

  list(): string[] {
    return [...this.byId.keys()].sort();
  }

  /** The SunSpec model profile for a model id found by discovery, if we have one. */
  forSunSpecModel(model: number): Profile | undefined {
    return [...this.byId.values()].find((p) => p.kind === 'sunspec-model' && p.sunspecModel === model);
  }
}

let builtin: ProfileRegistry | undefined;
/** The registry of built-in profiles (validated once, lazily). */
export function builtinProfiles(): ProfileRegistry {
  return (builtin ??= new ProfileRegistry());
}
