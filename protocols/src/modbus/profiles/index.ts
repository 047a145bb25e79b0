/** The built-in device profiles (data). Generated list: every JSON file under this folder. */
import type { Profile } from '../profile.js';
import p0 from './abb/b23.json' with { type: 'json' };
import p1 from './carlo-gavazzi/em24.json' with { type: 'json' };
import p2 from './carlo-gavazzi/em340.json' with { type: 'json' };
import p3 from './eastron/sdm120.json' with { type: 'json' };
import p4 from './eastron/sdm630.json' with { type: 'json' };
import p5 from './schneider/iem3000.json' with { type: 'json' };
import p6 from './sinapsi/alfa.json' with { type: 'json' };
import p7 from './sunspec/common.json' with { type: 'json' };
import p8 from './sunspec/meter-201.json' with { type: 'json' };
import p9 from './sunspec/meter-202.json' with { type: 'json' };
import p10 from './sunspec/meter-203.json' with { type: 'json' };
import p11 from './sunspec/meter-204.json' with { type: 'json' };
import p12 from './sunspec/meter-211.json' with { type: 'json' };
import p13 from './sunspec/meter-212.json' with { type: 'json' };
import p14 from './sunspec/meter-213.json' with { type: 'json' };
import p15 from './sunspec/meter-214.json' with { type: 'json' };

/** Raw profile documents (validated by the registry). */
export const BUILTIN_PROFILE_DOCS: unknown[] = [p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, p15];
export type { Profile };
