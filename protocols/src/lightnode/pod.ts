/**
 * The one PoD (point of delivery) validator: the agent config, sample validation (device and BAL), the SCD, `--pod`
 * flags and the Chain 2 CF20 check all use it (SPEC §1).
 *
 * Rules by country prefix (first two letters). A country without a rule of its own keeps the generic form.
 * - `IT`: `IT` + 3-digit distributor code + `E` + 8 digits + optional check character (ARERA POD format,
 *   e.g. `IT002E61899978`; every PoD of the Tor di Valle run fits, and so does a Chain 2 CF20 POD once its
 *   16-character space padding is trimmed).
 * - any other: two capital letters + 1–30 digits or capitals.
 */
export interface PodRule {
  /** Two capital letters, or `*` for every prefix without a rule of its own. */
  prefix: string;
  pattern: RegExp;
  /** What a person is told is expected. */
  expected: string;
}

export const POD_RULES: readonly PodRule[] = [
  {
    prefix: 'IT',
    pattern: /^IT[0-9]{3}E[0-9]{8}[0-9A-Z]?$/,
    expected: 'IT + 3-digit distributor code + E + 8 digits + optional check character, e.g. IT002E61899978',
  },
  { prefix: '*', pattern: /^[A-Z]{2}[0-9A-Z]{1,30}$/, expected: 'two capital letters + 1–30 digits or capitals' },
];

export type PodCheck = { ok: true } | { ok: false; reason: string };

/** Checks a PoD id against the rule of its country prefix; the reason names the rule and what was received. */
export function validatePodId(id: unknown): PodCheck {
  if (typeof id !== 'string') return { ok: false, reason: `expected a PoD id string, received ${JSON.stringify(id)}` };
  const rule = POD_RULES.find((r) => r.prefix === id.slice(0, 2)) ?? POD_RULES.find((r) => r.prefix === '*')!;
  if (rule.pattern.test(id)) return { ok: true };
  return { ok: false, reason: `expected ${rule.expected}, received ${JSON.stringify(id)}` };
}
