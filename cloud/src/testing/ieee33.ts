/**
 * The IEEE 33-bus feeder (Baran & Wu 1989; cloud/data/ieee33/, public data) as a {@link NetworkFile}, built from the
 * CSVs so tests and the bench share one copy of the data. Branches are switched by their CSV number: `open` takes
 * those out of service, `closed` puts the (normally open) ties in service.
 */
import { readFileSync } from 'node:fs';
import type { NetworkFile } from '../dsotp/network.js';

export const IEEE33_DIR = new URL('../../data/ieee33/', import.meta.url);

function rows(file: string): string[][] {
  const lines = readFileSync(new URL(file, IEEE33_DIR), 'utf8').trim().split(/\r?\n/);
  return lines.slice(1).map((l) => l.split(',').map((c) => c.trim()));
}

export interface Ieee33Options {
  /** branch numbers (CSV `branch`) taken out of service */
  open?: readonly number[];
  /** branch numbers put in service (the ties 33–37 are open in the data) */
  closed?: readonly number[];
  /** every load × this factor (default 1) */
  loadScale?: number;
  /** an ampacity for every branch, A (the data carry none) */
  ampacityA?: number;
}

export function ieee33Network(o: Ieee33Options = {}): NetworkFile {
  const scale = o.loadScale ?? 1;
  const busRows = rows('bus.csv');
  const slack = busRows.find((r) => r[1] === '3')!;
  return {
    baseKV: Number(slack[4]),
    baseMVA: 10,
    slackBus: Number(slack[0]),
    slackVoltagePu: 1,
    buses: busRows.map((r) => ({ id: Number(r[0]), pKW: Number(r[2]) * scale, qKvar: Number(r[3]) * scale })),
    branches: rows('branch.csv').map((r) => {
      const no = Number(r[0]);
      const inService = o.open?.includes(no) ? false : o.closed?.includes(no) ? true : r[5] !== '0';
      return {
        from: Number(r[1]),
        to: Number(r[2]),
        rOhm: Number(r[3]),
        xOhm: Number(r[4]),
        inService,
        ...(o.ampacityA !== undefined ? { ampacityA: o.ampacityA } : {}),
      };
    }),
  };
}
