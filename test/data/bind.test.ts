import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeTensor, toFloat32, typedView } from '../../src/core/tensor.js';
import { bindInputs, checkDtype, convertExact, type InputDecl } from '../../src/data/bind.js';
import type { Dataset } from '../../src/data/dataset.js';
import { limitSamples, selectSamples, splitHoldout, checkDataset } from '../../src/data/dataset.js';
import { createRng } from '../../src/core/random.js';

const f32 = (shape: number[], values?: number[]) =>
  makeTensor('float32', shape, new Uint8Array(Float32Array.from(values ?? new Array(shape.reduce((a, b) => a * b, 1)).fill(0)).buffer));
const i64 = (shape: number[], values: number[]) => makeTensor('int64', shape, new Uint8Array(BigInt64Array.from(values, BigInt).buffer));
const input = (name: string, dtype: InputDecl['dtype'] = 'float32', shape: InputDecl['shape'] = ['N', 2]): InputDecl => ({
  name,
  dtype,
  shape,
});

describe('binding data arrays to model inputs', () => {
  const ids = i64([3, 2], [1, 2, 3, 4, 5, 6]);
  const mask = f32([3, 2]);
  const twoArrays: Dataset = { x: ids, xName: 'ids', inputs: { mask }, y: undefined, name: 't.npz', file: 't.npz' };

  it('binds by name, in any order, and a single unnamed array to the data input', () => {
    const b = bindInputs(twoArrays, [input('mask'), input('ids', 'int64')]);
    expect(b.map((x) => [x.array, x.input.name])).toEqual([
      ['ids', 'ids'],
      ['mask', 'mask'],
    ]);
    const single: Dataset = { x: mask, y: undefined, name: 'a.npy' };
    expect(bindInputs(single, [input('a'), input('b')]).map((x) => x.input.name)).toEqual(['a']);
    expect(bindInputs(single, [input('a'), input('b')], 'b').map((x) => x.input.name)).toEqual(['b']);
    // A single named array that names no input still goes to the data input (position).
    expect(bindInputs({ ...single, xName: 'audio' }, [input('x')]).map((x) => x.array)).toEqual(['audio']);
  });

  it('an x array beside named ones feeds the data input: the first input no name takes, or --data-input', () => {
    const ds: Dataset = { x: f32([3, 2]), inputs: { mask }, y: undefined, name: 'm.npz', file: 'm.npz' };
    const pairs = (b: ReturnType<typeof bindInputs>) => b.map((x) => [x.array, x.input.name]);
    expect(pairs(bindInputs(ds, [input('mask'), input('image'), input('other')]))).toEqual([
      ['x', 'image'],
      ['mask', 'mask'],
    ]);
    expect(pairs(bindInputs(ds, [input('mask'), input('image'), input('other')], 'other'))[0]).toEqual(['x', 'other']);
    expect(() => bindInputs(ds, [input('mask'), input('image')], 'mask')).toThrow(/array 'x' matches no model input/);
  });

  it('refuses arrays that match no input, listing the inputs and the arrays, naming the file', () => {
    expect(() => bindInputs(twoArrays, [input('input_ids'), input('attention_mask')])).toThrow(
      /t\.npz: no array matches a model input by name \(the model's inputs: 'input_ids', 'attention_mask'; the data's arrays: 'ids', 'mask'\)/,
    );
    expect(() => bindInputs(twoArrays, [input('ids', 'int64'), input('attention_mask')])).toThrow(/array 'mask' matches no model input/);
    expect(() => bindInputs(twoArrays, [input('ids')], 'nope')).toThrow(/no input named 'nope'/);
  });
});

describe('dtypes', () => {
  const what = { array: 'ids', input: 'input_ids', file: 'f.npz' };
  it('accepts numbers into floats and integers into integers; refuses floats into integer or bool inputs', () => {
    for (const [d, i] of [
      ['uint8', 'float32'],
      ['int64', 'float16'],
      ['float64', 'float32'],
      ['int32', 'int64'],
      ['int64', 'int32'],
      ['uint8', 'bool'],
      ['bool', 'bool'],
    ] as const)
      expect(() => checkDtype(d, i, what)).not.toThrow();
    expect(() => checkDtype('float32', 'int64', what)).toThrow(
      /f\.npz: array 'ids' holds float32, model input 'input_ids' takes int64: float values are not integers.*astype\(np\.int64\)/,
    );
    expect(() => checkDtype('float16', 'bool', what)).toThrow(/not bools/);
    expect(() => checkDtype('string', 'float32', what)).toThrow(/not numbers/);
  });

  it('converts integers exactly and refuses values out of the input range', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 20 }), (values) => {
        const t = i64([values.length], values);
        const c = convertExact(t, 'int32', what);
        expect(c.dtype).toBe('int32');
        expect([...(typedView(c) as Int32Array)]).toEqual(values);
        expect([...new BigInt64Array(convertExact(c, 'int64', what).data.slice().buffer)].map(Number)).toEqual(values);
      }),
    );
    expect(() => convertExact(i64([2], [1, 2 ** 40]), 'int32', what)).toThrow(
      /value 1099511627776 \(element 1\) does not fit model input 'input_ids' of type int32/,
    );
    expect(() => convertExact(i64([1], [2]), 'bool', what)).toThrow(/value 2/);
    expect([...toFloat32(convertExact(i64([2], [3, -4]), 'float16', what))]).toEqual([3, -4]);
  });
});

describe('datasets carry their named inputs and targets through select, limit and hold-out', () => {
  const x = f32([4, 1], [0, 1, 2, 3]);
  const ds: Dataset = {
    x,
    xName: 'a',
    inputs: { b: f32([4, 2], [0, 0, 10, 10, 20, 20, 30, 30]) },
    targets: { '': f32([4], [100, 101, 102, 103]) },
    y: Int32Array.of(0, 1, 0, 1),
    name: 'd',
    file: 'd.npz',
  };
  it('keeps rows aligned', () => {
    const s = selectSamples(ds, [3, 1]);
    expect([...toFloat32(s.x)]).toEqual([3, 1]);
    expect([...toFloat32(s.inputs!.b!)]).toEqual([30, 30, 10, 10]);
    expect([...toFloat32(s.targets!['']!)]).toEqual([103, 101]);
    expect(s.xName).toBe('a');
    const l = limitSamples(ds, 2);
    expect(l.inputs!.b!.shape).toEqual([2, 2]);
    expect(l.targets!['']!.shape).toEqual([2]);
    const h = splitHoldout(ds, 1, createRng(1));
    for (const part of [h.train, h.holdout]) {
      const xs = [...toFloat32(part.x)];
      expect([...toFloat32(part.targets!['']!)]).toEqual(xs.map((v) => 100 + v));
      expect([...toFloat32(part.inputs!.b!)]).toEqual(xs.flatMap((v) => [10 * v, 10 * v]));
    }
  });
  it('checkDataset names an input or target array whose examples do not match', () => {
    expect(() => checkDataset({ ...ds, targets: { out: f32([3]) } }, 'd.npz')).toThrow(
      /d\.npz: array 'targets\/out' has 3 examples \[3\], 'a' has 4/,
    );
    expect(() => checkDataset({ ...ds, inputs: { b: f32([5, 2]) } }, 'd.npz')).toThrow(/array 'b' has 5 examples/);
  });
});
