/**
 * The mutation fuzzer shared by the suite (test/fuzz/readers.test.ts) and the
 * longer pre-release run (bench/fuzz.ts): seeded truncations, bit flips and
 * byte overwrites, and a driver that runs a reader on each and collects every
 * escape that is not a ModelpressError.
 */
import { isModelpressError } from '../src/core/errors.js';
import { tensorStats } from '../src/core/stats.js';
import type { NamedTensor } from '../src/formats/types.js';
import { fromFloat32 } from '../src/core/tensor.js';
import { writeSafetensors } from '../src/formats/safetensors.js';

/** A small safetensors file with float32, float16, bool, int64 and empty tensors and metadata: the fuzzers' safetensors input. */
export function sampleSafetensors(): Uint8Array {
  return writeSafetensors(
    [
      {
        name: 'w',
        tensor: fromFloat32(
          Float32Array.from({ length: 64 }, (_, i) => i / 7),
          'float32',
          [8, 8],
        ),
      },
      { name: 'h', tensor: fromFloat32(Float32Array.of(1, -2, 3), 'float16', [3]) },
      { name: 'b', tensor: fromFloat32(Float32Array.of(1, 0), 'bool', [2]) },
      { name: 'i', tensor: fromFloat32(Float32Array.of(5, -6), 'int64', [2]) },
      { name: 'e', tensor: fromFloat32(new Float32Array(0), 'float32', [0, 3]) },
    ],
    { format: 'pt', note: 'x' },
  );
}

/** xorshift32: small, seeded, reproducible. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

export type Mutation = { kind: string; bytes: Uint8Array };

/**
 * One mutation of `input`: a truncation, 1-8 bit flips, or a run of random
 * bytes; positions are drawn from the first `focus` bytes half the time (the
 * structure: headers, protobuf tags) and from anywhere otherwise.
 */
export function mutate(input: Uint8Array, rand: () => number, focus = input.length): Mutation {
  const pos = () => Math.floor(rand() * (rand() < 0.5 ? Math.min(focus, input.length) : input.length));
  const r = rand();
  if (r < 0.3) return { kind: 'truncate', bytes: input.slice(0, pos()) };
  const out = input.slice();
  if (r < 0.8) {
    const flips = 1 + Math.floor(rand() * 8);
    for (let i = 0; i < flips; i++) out[pos()]! ^= 1 << Math.floor(rand() * 8);
    return { kind: `flip${flips}`, bytes: out };
  }
  const start = pos();
  const len = 1 + Math.floor(rand() * 16);
  for (let i = start; i < Math.min(out.length, start + len); i++) out[i] = Math.floor(rand() * 256);
  return { kind: `overwrite${len}`, bytes: out };
}

/** Runs `read` on `cases` mutations; returns descriptions of every non-ModelpressError escape. */
export function fuzz(
  input: Uint8Array,
  cases: number,
  seed: number,
  read: (bytes: Uint8Array) => NamedTensor[] | undefined,
  focus?: number,
  withStats = true,
): { escapes: string[]; rejected: number; accepted: number } {
  const rand = prng(seed);
  const escapes: string[] = [];
  let rejected = 0;
  let accepted = 0;
  for (let i = 0; i < cases; i++) {
    const m = mutate(input, rand, focus);
    try {
      const tensors = read(m.bytes);
      if (withStats) for (const t of tensors ?? []) tensorStats(t.tensor);
      accepted++;
    } catch (e) {
      if (isModelpressError(e)) rejected++;
      else escapes.push(`case ${i} (${m.kind}, ${m.bytes.length} bytes): ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  }
  return { escapes, rejected, accepted };
}
