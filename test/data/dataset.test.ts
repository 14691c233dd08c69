import { describe, expect, it } from 'vitest';
import { ModelpressError } from '../../src/core/errors.js';
import { createRng, permutation } from '../../src/core/random.js';
import { makeTensor } from '../../src/core/tensor.js';
import {
  checkDataset,
  classCount,
  floatDataset,
  floatView,
  limitSamples,
  sampleCount,
  sampleShape,
  sampleSize,
  selectSamples,
  splitHoldout,
  unitScaled,
  type Dataset,
} from '../../src/data/dataset.js';

/** `count` uint8 examples of shape [2, 3] whose values are example * 10 + position, labels example % 4. */
function bytes(count: number): Dataset {
  const data = Uint8Array.from({ length: count * 6 }, (_, i) => Math.floor(i / 6) * 10 + (i % 6));
  return { x: makeTensor('uint8', [count, 2, 3], data), y: Int32Array.from({ length: count }, (_, i) => i % 4), name: 'bytes' };
}

describe('Dataset', () => {
  it('counts examples and their shape', () => {
    const ds = bytes(5);
    expect([sampleCount(ds), sampleShape(ds), sampleSize(ds), classCount(ds)]).toEqual([5, [2, 3], 6, 4]);
    expect(classCount({ ...ds, y: undefined })).toBe(0);
  });

  it('selects examples in the given order with their labels, and limits to a view of the first ones', () => {
    const ds = bytes(5);
    const s = selectSamples(ds, [3, 0, 3], 'picked');
    expect(s.name).toBe('picked');
    expect(s.x.shape).toEqual([3, 2, 3]);
    expect([...s.x.data.subarray(0, 6)]).toEqual([30, 31, 32, 33, 34, 35]);
    expect([...s.x.data.subarray(6, 12)]).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...s.y!]).toEqual([3, 0, 3]);
    const l = limitSamples(ds, 2);
    expect(l.x.shape).toEqual([2, 2, 3]);
    expect(l.x.data.buffer).toBe(ds.x.data.buffer);
    expect([...l.x.data]).toEqual([...ds.x.data.subarray(0, 12)]);
    expect([...l.y!]).toEqual([0, 1]);
    expect(limitSamples(ds, 9)).toBe(ds);
  });

  it('splits a hold-out by the seeded xoshiro permutation, in its order', () => {
    const ds = bytes(10);
    const p = permutation(10, createRng(7));
    const { train, holdout } = splitHoldout(ds, 3, createRng(7));
    expect([...holdout.x.data.filter((_, i) => i % 6 === 0)]).toEqual([...p.subarray(0, 3)].map((i) => i * 10));
    expect([...train.x.data.filter((_, i) => i % 6 === 0)]).toEqual([...p.subarray(3)].map((i) => i * 10));
    expect([...holdout.y!]).toEqual([...p.subarray(0, 3)].map((i) => i % 4));
    expect(() => splitHoldout(ds, 10, createRng(7))).toThrow(/hold-out size 10 must be in \[0, 10\)/);
  });

  it('views aligned float32 examples without a copy and converts other dtypes once, unscaled', () => {
    const values = Float32Array.from({ length: 12 }, (_, i) => i / 2);
    const f = floatDataset(values, [3], Uint8Array.of(1, 0, 2, 1), 'floats');
    expect(f.y).toBeInstanceOf(Int32Array);
    const v = floatView(f);
    expect(v.inputs.buffer).toBe(values.buffer);
    expect([v.count, v.sampleShape]).toEqual([4, [3]]);
    const u = floatView(bytes(2));
    expect([...u.inputs]).toEqual([0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15]);
    // Unaligned float32 bytes: one copy, same values.
    const raw = new Uint8Array(4 + 12 * 4);
    raw.set(new Uint8Array(values.buffer), 1);
    const unaligned = floatView({ x: makeTensor('float32', [4, 3], raw.subarray(1, 49)), y: undefined, name: 'u' });
    expect([...unaligned.inputs]).toEqual([...values]);
  });

  it('scales uint8 images into [0, 1] (and adds the grey channel), converts other numbers as they are', () => {
    const s = unitScaled(bytes(2), { channelDim: true });
    expect(s.x.dtype).toBe('float32');
    expect(s.x.shape).toEqual([2, 1, 2, 3]);
    const v = floatView(s).inputs;
    expect(v[11]).toBe(Math.fround(15 / 255));
    expect(v[1]).toBe(Math.fround(1 / 255));
    const ints = unitScaled({ x: makeTensor('int32', [2, 1], new Uint8Array(Int32Array.of(-3, 7).buffer)), y: undefined, name: 'i' });
    expect([...floatView(ints).inputs]).toEqual([-3, 7]);
    expect(ints.x.shape).toEqual([2, 1]);
  });

  it('checks shapes, labels and, for training, that labels exist and are not negative', () => {
    const ds = bytes(4);
    expect(() => checkDataset(ds, 'training data', { labels: true })).not.toThrow();
    /** The code and message `f` throws with. */
    const thrown = (f: () => void): [string, string] | undefined => {
      try {
        f();
        return undefined;
      } catch (e) {
        return e instanceof ModelpressError ? [e.code, e.message] : ['not a ModelpressError', String(e)];
      }
    };
    expect(thrown(() => checkDataset({ ...ds, x: { ...ds.x, shape: [5, 2, 3] } }, 'training data'))).toEqual([
      'E_SHAPE',
      'training data: x holds 24 bytes, expected 5 examples x 6 uint8 values (30 bytes; shape [5, 2, 3])',
    ]);
    expect(thrown(() => checkDataset({ ...ds, y: Int32Array.of(1) }))).toEqual(['E_SHAPE', 'dataset: 1 labels for 4 examples']);
    expect(thrown(() => checkDataset({ ...ds, y: undefined }))).toBeUndefined();
    const none = thrown(() => checkDataset({ ...ds, y: undefined }, 'd', { labels: true }));
    expect(none).toEqual(['E_ARG', "d: the data has no labels (array 'y'); training needs them"]);
    const negative = thrown(() => checkDataset({ ...ds, y: Int32Array.of(0, 1, -1, 2) }, 'd', { labels: true }));
    expect(negative).toEqual(['E_ARG', 'd: label -1 of sample 2 is negative']);
  });
});
