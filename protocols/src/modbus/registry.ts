/**
 * The profile registry: validates the built-in profiles (and any extra documents), resolves `$import` (points of
 * the imported profiles first), and looks profiles up by id. `PROFILE_UNKNOWN` names the id and lists the known ones.
 */
import { LightNodeError } from '../errors.js';
import { BUILTIN_PROFILE_DOCS } from './profiles/index.js';
import { checkProfileSemantics, parseProfile, type Profile, type ProfileLookup } from './profile.js';

export class ProfileRegistry implements ProfileLookup {
  private readonly byId = new Map<string, Profile>();

  constructor(docs: readonly unknown[] = BUILTIN_PROFILE_DOCS) {
    const raw = docs.map((d, i) => {
      const id =
        typeof d === 'object' && d !== null && typeof (d as { id?: unknown }).id === 'string'
          ? (d as { id: string }).id
          : `profiles[${i}]`;
      return parseProfile(d, id);
    });
    const pending = new Map(raw.map((p) => [p.id, p]));
    const resolve = (id: string, chain: string[]): Profile => {
      const done = this.byId.get(id);
      if (done) return done;
      const p = pending.get(id);
      if (!p)
        throw new LightNodeError('PROFILE_INVALID', `${chain.at(-1) ?? id}: $import of unknown profile ${id}`, {
          profile: id,
        });
      if (chain.includes(id))
        throw new LightNodeError('PROFILE_INVALID', `${id}: $import cycle ${[...chain, id].join(' → ')}`, {
          profile: id,
        });
      const imported = (p.$import ?? []).flatMap((dep) => resolve(dep, [...chain, id]).points);
      const merged: Profile = { ...p, points: [...imported, ...p.points] };
      if (imported.length) checkProfileSemantics(merged, id);
      this.byId.set(id, merged);
      return merged;
    };
    for (const id of pending.keys()) resolve(id, []);
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
