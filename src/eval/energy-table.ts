/**
 * Energy tables for the per-inference estimate (energy.ts): picojoules per
 * arithmetic operation by data type and per 64-bit memory access by the
 * size of the memory a tensor lives in. The default is Horowitz's 45 nm
 * table (ISSCC 2014, "Computing's energy problem"); a JSON file in the same
 * shape replaces it (docs/ALGORITHMS.md, Energy per inference).
 */
import { ModelpressError } from '../core/errors.js';

/** Costs of one operation of a data type, pJ. */
export interface OpCosts {
  readonly mul: number;
  readonly add: number;
  /** A comparison; defaults to `add` (a comparator is a subtractor). */
  readonly cmp?: number;
  /** exp, tanh, sigmoid, erf, log, sqrt, division, pow: defaults to 5 mul + 5 add (a degree-5 polynomial). */
  readonly transcendental?: number;
}

/** A memory level: tensors of at most `bytes` live in it, `pJ` per access of `accessBits`. */
export interface MemoryLevel {
  readonly name: string;
  readonly bytes: number;
  readonly pJ: number;
}

export interface EnergyTable {
  readonly name: string;
  /** Keyed by compute type: float32, float16, bfloat16, float64, int32, int16, int8, int4, int2, binary. */
  readonly compute: Readonly<Record<string, OpCosts>>;
  /** Bits moved per access (64 in Horowitz's table). */
  readonly accessBits: number;
  /** On-chip levels, smallest first; a tensor lives in the first it fits. */
  readonly sram: readonly MemoryLevel[];
  /** pJ per access for tensors larger than every SRAM level. */
  readonly dramPJ: number;
}

/**
 * Horowitz 45 nm. int4 is not in the paper: its multiply is scaled from
 * int8's by the square of the width (an array multiplier's area, 0.2/4) and
 * its add linearly (0.03/2); integer MACs accumulate in int32 either way.
 * DRAM is the low end of the paper's 1.3-2.6 nJ range.
 */
export const HOROWITZ_45NM: EnergyTable = {
  name: 'Horowitz 45 nm (ISSCC 2014)',
  compute: {
    float32: { mul: 3.7, add: 0.9 },
    float16: { mul: 1.1, add: 0.4 },
    int32: { mul: 3.1, add: 0.1 },
    int8: { mul: 0.2, add: 0.03 },
    int4: { mul: 0.05, add: 0.015 },
  },
  accessBits: 64,
  sram: [
    { name: 'SRAM 8 KB', bytes: 8 * 1024, pJ: 10 },
    { name: 'SRAM 32 KB', bytes: 32 * 1024, pJ: 20 },
    { name: 'SRAM 1 MB', bytes: 1024 * 1024, pJ: 100 },
  ],
  dramPJ: 1300,
};

export const cmpCost = (c: OpCosts): number => c.cmp ?? c.add;
export const transcendentalCost = (c: OpCosts): number => c.transcendental ?? 5 * c.mul + 5 * c.add;

const isNonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * Parses a JSON energy table. Every field is optional and falls back to the
 * default table's (so a file may give only `compute`, or only `sram`); a
 * `compute` given replaces the default's types wholesale, so a type the
 * model needs and the file leaves out is an error at estimate time.
 */
export function parseEnergyTable(text: string, file: string): EnergyTable {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelpressError('E_FORMAT', `energy table is not JSON: ${(e as Error).message}`, { file, cause: e });
  }
  const bad = (what: string) => new ModelpressError('E_FORMAT', `energy table: ${what}`, { file });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('expected a JSON object');
  const o = raw as Record<string, unknown>;
  let compute: Record<string, OpCosts> = { ...HOROWITZ_45NM.compute };
  if (o.compute !== undefined) {
    if (typeof o.compute !== 'object' || o.compute === null || Array.isArray(o.compute))
      throw bad('"compute" must be an object keyed by type');
    compute = {};
    for (const [dtype, v] of Object.entries(o.compute as Record<string, unknown>)) {
      const c = v as Record<string, unknown>;
      if (typeof v !== 'object' || v === null || !isNonNegative(c.mul) || !isNonNegative(c.add))
        throw bad(`compute.${dtype} needs non-negative numbers "mul" and "add" (pJ)`);
      for (const k of ['cmp', 'transcendental'])
        if (c[k] !== undefined && !isNonNegative(c[k])) throw bad(`compute.${dtype}.${k} must be a non-negative number (pJ)`);
      compute[dtype] = {
        mul: c.mul,
        add: c.add,
        ...(c.cmp === undefined ? {} : { cmp: c.cmp as number }),
        ...(c.transcendental === undefined ? {} : { transcendental: c.transcendental as number }),
      };
    }
  }
  const accessBits = o.accessBits ?? HOROWITZ_45NM.accessBits;
  if (!isNonNegative(accessBits) || accessBits < 8 || accessBits % 8 !== 0) throw bad('"accessBits" must be a positive multiple of 8');
  const dramPJ = o.dramPJ ?? HOROWITZ_45NM.dramPJ;
  if (!isNonNegative(dramPJ)) throw bad('"dramPJ" must be a non-negative number');
  let sram = HOROWITZ_45NM.sram;
  if (o.sram !== undefined) sram = parseLevels(o.sram, bad);
  return { name: typeof o.name === 'string' ? o.name : file, compute, accessBits, sram, dramPJ };
}

function parseLevels(v: unknown, bad: (what: string) => ModelpressError): MemoryLevel[] {
  if (!Array.isArray(v)) throw bad('"sram" must be an array of {"bytes", "pJ"}');
  const levels = v.map((l: unknown, i) => {
    const e = l as Record<string, unknown>;
    if (typeof l !== 'object' || l === null || !isNonNegative(e.bytes) || e.bytes < 1 || !isNonNegative(e.pJ))
      throw bad(`sram[${i}] needs a positive "bytes" and a non-negative "pJ"`);
    return { name: typeof e.name === 'string' ? e.name : `SRAM ${formatBytes(e.bytes)}`, bytes: e.bytes, pJ: e.pJ };
  });
  for (let i = 1; i < levels.length; i++)
    if (levels[i]!.bytes <= levels[i - 1]!.bytes) throw bad('"sram" levels must be listed smallest first');
  return levels;
}

/**
 * Parses `--energy-memory 8K=10,32K=20,1M=100,dram=1300`: SRAM sizes (bytes,
 * K or M suffixes of 1024) with their pJ per access, and the DRAM figure.
 */
export function withMemorySpec(table: EnergyTable, spec: string): EnergyTable {
  const levels: MemoryLevel[] = [];
  let dramPJ = table.dramPJ;
  for (const part of spec.split(',')) {
    const m = /^\s*([0-9.]+)\s*([kKmMgG]?)[bB]?\s*=\s*([0-9.]+)\s*$/.exec(part);
    const d = /^\s*dram\s*=\s*([0-9.]+)\s*$/i.exec(part);
    if (d) dramPJ = Number(d[1]);
    else if (m) {
      const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
      const bytes = Math.round(Number(m[1]) * mult);
      if (!(bytes >= 1) || !Number.isFinite(Number(m[3]))) throw new ModelpressError('E_ARG', `--energy-memory: bad level '${part}'`);
      levels.push({ name: `SRAM ${formatBytes(bytes)}`, bytes, pJ: Number(m[3]) });
    } else
      throw new ModelpressError(
        'E_ARG',
        `--energy-memory: '${part}' is neither <size>=<pJ> nor dram=<pJ> (e.g. 8K=10,32K=20,1M=100,dram=1300)`,
      );
  }
  levels.sort((a, b) => a.bytes - b.bytes);
  for (let i = 1; i < levels.length; i++)
    if (levels[i]!.bytes === levels[i - 1]!.bytes)
      throw new ModelpressError('E_ARG', `--energy-memory: two levels of ${formatBytes(levels[i]!.bytes)}`);
  return { ...table, sram: levels.length ? levels : table.sram, dramPJ };
}

export function formatBytes(b: number): string {
  if (b >= 1024 ** 2 && b % 1024 ** 2 === 0) return `${b / 1024 ** 2} MB`;
  if (b >= 1024 && b % 1024 === 0) return `${b / 1024} KB`;
  return `${b} B`;
}
