/** .npz members through loadDataSpec and the binding rule: what was written is what feeds each input. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DType } from '../../src/core/dtypes.js';
import { makeTensor, typedView, type Tensor } from '../../src/core/tensor.js';
import { bindInputs } from '../../src/data/bind.js';
import { sampleCount } from '../../src/data/dataset.js';
import { encodeNpy } from '../../src/eval/datasets/npy.js';
import { loadDataSpec } from '../../src/node/datasets.js';
import { storedNpz } from '../eval/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-npz-spec-'));
const DTYPES: readonly DType[] = ['float32', 'float16', 'int64', 'int32', 'uint8', 'bool'];
const BYTES: Record<string, number> = { float32: 4, float16: 2, int64: 8, int32: 4, uint8: 1, bool: 1 };

function tensor(dtype: DType, shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const bytes = new Uint8Array(n * BYTES[dtype]!);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (seed * 131 + i * 29) & (dtype === 'bool' ? 1 : dtype === 'float16' ? 0x3b : 0x7f);
  return makeTensor(dtype, shape, bytes);
}

let k = 0;
function write(members: Record<string, Tensor>): string {
  const path = join(dir, `f${k++}.npz`);
  writeFileSync(path, storedNpz(Object.fromEntries(Object.entries(members).map(([n, t]) => [n, encodeNpy(t)]))));
  return path;
}

describe('.npz data specs', () => {
  it('every input array reaches the input of its name, bytes unchanged, with labels and targets aligned', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.constantFrom('ids', 'mask', 'audio', 'pos', 'x.1', 'input_1'), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.constantFrom(...DTYPES), { minLength: 4, maxLength: 4 }),
        fc.boolean(),
        fc.boolean(),
        async (names, count, dtypes, labelled, targets) => {
          const members: Record<string, Tensor> = {};
          names.forEach((n, i) => {
            members[n] = tensor(dtypes[i]!, [count, i + 1, 2], i + count);
          });
          if (labelled)
            members.labels = makeTensor(
              'int64',
              [count],
              new Uint8Array(BigInt64Array.from({ length: count }, (_, i) => BigInt(i % 3)).buffer),
            );
          if (targets) members['targets/out'] = tensor('float32', [count, 3], 9);
          const ds = await loadDataSpec(write(members));
          expect(sampleCount(ds)).toBe(count);
          expect(ds.y === undefined).toBe(!labelled);
          if (labelled) expect([...ds.y!]).toEqual(Array.from({ length: count }, (_, i) => i % 3));
          expect(ds.targets?.out?.shape ?? null).toEqual(targets ? [count, 3] : null);
          // Model inputs in another order: each binds to its array by name.
          const inputs = [...names].reverse().map((n, i) => ({
            name: n,
            dtype: dtypes[names.indexOf(n)]!,
            shape: ['N', names.indexOf(n) + 1, 2] as (string | number)[],
            i,
          }));
          const bound = bindInputs(ds, inputs);
          expect(bound.map((b) => b.input.name).sort()).toEqual([...names].sort());
          for (const b of bound) expect(typedView(b.tensor)).toEqual(typedView(members[b.input.name]!));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('seeded splits are disjoint and cover the file; the split member gives the official ones', async () => {
    const x = tensor('uint8', [50, 4], 1);
    const path = write({ x, y: makeTensor('int64', [50], new Uint8Array(new BigInt64Array(50).buffer)) });
    const train = await loadDataSpec(`${path}:train`, { seed: 3 });
    const test = await loadDataSpec(`${path}:test`, { seed: 3 });
    expect([sampleCount(train), sampleCount(test)]).toEqual([40, 10]);
    const rows = (t: Tensor) => Array.from({ length: t.shape[0]! }, (_, i) => [...t.data.subarray(i * 4, i * 4 + 4)].join());
    const all = new Set(rows(x));
    const seen = [...rows(train.x), ...rows(test.x)];
    expect(new Set(seen).size).toBe(all.size);
    const split = Uint8Array.from({ length: 50 }, (_, i) => (i >= 45 ? 1 : 0));
    const official = write({ x, split: makeTensor('uint8', [50], split) });
    expect(rows((await loadDataSpec(`${official}:test`)).x)).toEqual(rows(x).slice(45));
    expect(sampleCount(await loadDataSpec(`${official}:train`))).toBe(45);
    expect(sampleCount(await loadDataSpec(`${official}:calibration`, { calibrationSize: 8 }))).toBe(8);
    await expect(loadDataSpec(write({ x, split: makeTensor('uint8', [50], new Uint8Array(50).fill(2)) }))).rejects.toThrow(
      /array 'split' holds 2 at 0/,
    );
    await expect(loadDataSpec(write({ x, split: makeTensor('uint8', [3], new Uint8Array(3)) }))).rejects.toThrow(
      /array 'split' has shape \[3\]/,
    );
  });

  it('names the problem: only labels, both labels and y, a missing file, an unknown name', async () => {
    const y = makeTensor('int64', [2], new Uint8Array(16));
    await expect(loadDataSpec(write({ labels: y }))).rejects.toThrow(/archive holds no input array, only 'labels'/);
    await expect(loadDataSpec(write({ x: tensor('float32', [2, 1], 1), labels: y, y }))).rejects.toThrow(/both 'labels' and 'y'/);
    await expect(loadDataSpec(join(dir, 'missing.npz'))).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    await expect(loadDataSpec('fashion-mnst')).rejects.toThrow(/unknown dataset/);
    await expect(loadDataSpec(join(dir, 'nothing-here.bin'))).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
      file: join(dir, 'nothing-here.bin'),
    });
  });
});
