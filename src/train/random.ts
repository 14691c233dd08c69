/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32) so that
 * initialization, shuffling and dropout masks are reproducible from one
 * integer seed, in Node and in the browser alike.
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
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform float in [0, 1) with 24 random bits (exactly representable in float32). */
  next(): number;
  /** Uniform float in [low, high). */
  uniform(low: number, high: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** Uniform integer in [0, n), unbiased (rejection sampling). */
  int(n: number): number;
  /** An independent generator derived from this one (for per-purpose streams). */
  fork(): Rng;
}

/** xoshiro128** seeded from `seed` (any integer; the same seed gives the same stream everywhere). */
export function createRng(seed: number): Rng {
  const init = { s: seed | 0 };
  let s0 = splitmix32(init);
  let s1 = splitmix32(init);
  let s2 = splitmix32(init);
  let s3 = splitmix32(init);
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the all-zero state is a fixed point
  let spareNormal: number | undefined;

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
  const next = (): number => (nextUint32() >>> 8) / 16777216;
  const rng: Rng = {
    nextUint32,
    next,
    uniform: (low, high) => low + (high - low) * next(),
    normal: () => {
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
    },
    int: (n) => {
      if (!(n >= 1 && n <= 0x100000000)) throw new RangeError(`Rng.int: n must be in [1, 2^32], got ${n}`);
      const limit = 0x100000000 - (0x100000000 % n);
      for (;;) {
        const x = nextUint32();
        if (x < limit) return x % n;
      }
    },
    fork: () => createRng(nextUint32() ^ 0x5bd1e995),
  };
  return rng;
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
