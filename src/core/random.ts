/**
 * The one seeded PRNG module, so that initialization, shuffling, dropout
 * masks, data splits and random inputs are reproducible from one integer
 * seed, in Node and in the browser alike. One generator type, `Rng`, callable
 * for a float in [0, 1), with one shuffle and one permutation over it.
 *
 * createRng is xoshiro128** (seeded through splitmix32): training, the model
 * zoo, hold-out splits. mulberry32 is the stream of the evaluation side's
 * seeded splits and random inputs, and of the test fixtures: kept as a named
 * generator (not a second createRng) because the calibration subsets and the
 * figures published from them depend on its exact values.
 */

/** splitmix32: spreads one 32-bit seed into well-mixed 32-bit words (used to seed xoshiro). */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export interface Rng {
  /** Uniform float in [0, 1) (same as next()). */
  (): number;
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform float in [low, high). */
  uniform(low: number, high: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** An independent generator derived from this one (for per-purpose streams). */
  fork(): Rng;
}

/** An Rng from a 32-bit word source, its float and integer draws, and a fork. */
function makeRng(nextUint32: () => number, next: () => number, int: (n: number) => number, fork: () => Rng): Rng {
  let spareNormal: number | undefined;
  const rng = (() => next()) as Rng;
  rng.nextUint32 = nextUint32;
  rng.next = next;
  rng.uniform = (low, high) => low + (high - low) * next();
  rng.normal = () => {
    if (spareNormal !== undefined) {
      const v = spareNormal;
      spareNormal = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  rng.int = int;
  rng.fork = fork;
  return rng;
}

/** xoshiro128** seeded from `seed` (any integer; the same seed gives the same stream everywhere). Floats have 24 random bits. */
export function createRng(seed: number): Rng {
  const init = { s: seed | 0 };
  let s0 = splitmix32(init);
  let s1 = splitmix32(init);
  let s2 = splitmix32(init);
  let s3 = splitmix32(init);
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the all-zero state is a fixed point
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  const int = (n: number): number => {
    // unbiased: rejection sampling
    if (!(n >= 1 && n <= 0x100000000)) throw new RangeError(`Rng.int: n must be in [1, 2^32], got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = nextUint32();
      if (x < limit) return x % n;
    }
  };
  return makeRng(
    nextUint32,
    () => (nextUint32() >>> 8) / 16777216,
    int,
    () => createRng(nextUint32() ^ 0x5bd1e995),
  );
}

/** mulberry32: a 32-bit state generator (floats with 32 random bits; int(n) = floor(next() * n)). See the file comment. */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  const nextUint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = (): number => nextUint32() / 4294967296;
  return makeRng(
    nextUint32,
    next,
    (n) => Math.floor(next() * n),
    () => mulberry32(nextUint32() ^ 0x5bd1e995),
  );
}

/** Mixes two integers into a seed (for per-sample streams derived from one user seed). */
export function deriveSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Fisher-Yates shuffle in place. */
export function shuffleInPlace(values: Uint32Array | Int32Array | number[], rng: Rng): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  }
}

/** A random permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  shuffleInPlace(p, rng);
  return p;
}
