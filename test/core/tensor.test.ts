import { describe, expect, it } from 'vitest';
import type { DType } from '../../src/core/dtypes.js';
import { fromFloat32, makeTensor, packInt4, roundHalfEven, toFloat32, typedView, unpackInt4 } from '../../src/core/tensor.js';

const inputs = [0, 1, -1, 2.5, -2.5, 3.5, 127.5, 128, -129, 300, 70000, 3e9, -3e9, NaN];

/** What a cast of `inputs` to each dtype must read back as (RNE, then saturate; NaN -> 0 for ints). */
const expected: Partial<Record<DType, number[]>> = {
  float32: inputs,
  float64: inputs,
  float16: [0, 1, -1, 2.5, -2.5, 3.5, 127.5, 128, -129, 300, Infinity, Infinity, -Infinity, NaN],
  bfloat16: [0, 1, -1, 2.5, -2.5, 3.5, 127.5, 128, -129, 300, 70144, 3003121664, -3003121664, NaN],
  int8: [0, 1, -1, 2, -2, 4, 127, 127, -128, 127, 127, 127, -128, 0],
  uint8: [0, 1, 0, 2, 0, 4, 128, 128, 0, 255, 255, 255, 0, 0],
  int16: [0, 1, -1, 2, -2, 4, 128, 128, -129, 300, 32767, 32767, -32768, 0],
  uint16: [0, 1, 0, 2, 0, 4, 128, 128, 0, 300, 65535, 65535, 0, 0],
  int32: [0, 1, -1, 2, -2, 4, 128, 128, -129, 300, 70000, 2147483647, -2147483648, 0],
  uint32: [0, 1, 0, 2, 0, 4, 128, 128, 0, 300, 70000, 3e9, 0, 0],
  int64: [0, 1, -1, 2, -2, 4, 128, 128, -129, 300, 70000, 3e9, -3e9, 0],
  uint64: [0, 1, 0, 2, 0, 4, 128, 128, 0, 300, 70000, 3e9, 0, 0],
  bool: [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  int4: [0, 1, -1, 2, -2, 4, 7, 7, -8, 7, 7, 7, -8, 0],
  uint4: [0, 1, 0, 2, 0, 4, 15, 15, 0, 15, 15, 15, 0, 0],
};

describe('fromFloat32 / toFloat32', () => {
  for (const [dtype, want] of Object.entries(expected) as [DType, number[]][]) {
    it(`casts to ${dtype} and reads back`, () => {
      const t = fromFloat32(Float32Array.from(inputs), dtype, [2, 7]);
      expect(t.dtype).toBe(dtype);
      expect(t.shape).toEqual([2, 7]);
      expect(Array.from(toFloat32(t))).toEqual(want.map((v) => Math.fround(v)));
    });
  }

  it('saturates int64/uint64 beyond their range instead of wrapping', () => {
    const t = fromFloat32(Float32Array.of(1e30, -1e30, Infinity, -Infinity), 'int64', [4]);
    expect(Array.from(typedView(t) as BigInt64Array)).toEqual([2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n - 1n, -(2n ** 63n)]);
    const u = fromFloat32(Float32Array.of(1e30, -5), 'uint64', [2]);
    expect(Array.from(typedView(u) as BigUint64Array)).toEqual([2n ** 64n - 1n, 0n]);
  });

  it('toFloat32 returns a copy, never a view on the tensor bytes', () => {
    const t = fromFloat32(Float32Array.of(1, 2), 'float32', [2]);
    const v = toFloat32(t);
    v[0] = 99;
    expect(toFloat32(t)[0]).toBe(1);
  });

  it('reads unaligned tensor bytes', () => {
    const buf = new Uint8Array(9);
    buf.set(new Uint8Array(Float32Array.of(1.5, -2).buffer), 1);
    const t = makeTensor('float32', [2], buf.subarray(1));
    expect(Array.from(toFloat32(t))).toEqual([1.5, -2]);
  });

  it('rejects data of the wrong length', () => {
    expect(() => makeTensor('float32', [3], new Uint8Array(8))).toThrow(/needs 12 bytes/);
  });
});

describe('int4 packing', () => {
  it('puts the first element in the low nibble (ONNX order)', () => {
    expect(Array.from(packInt4([1, 2, -1]))).toEqual([0x21, 0x0f]);
    expect(Array.from(packInt4([-8, 7, 15, 0]))).toEqual([0x78, 0x0f]);
  });

  it('unpacks with and without sign extension', () => {
    expect(Array.from(unpackInt4(Uint8Array.of(0x21, 0x0f), 3, true))).toEqual([1, 2, -1]);
    expect(Array.from(unpackInt4(Uint8Array.of(0x8f), 2, true))).toEqual([-1, -8]);
    expect(Array.from(unpackInt4(Uint8Array.of(0x8f), 2, false))).toEqual([15, 8]);
  });

  it('round-trips every signed and unsigned nibble pair', () => {
    const all: number[] = [];
    for (let a = -8; a < 8; a++) for (let b = -8; b < 8; b++) all.push(a, b);
    expect(Array.from(unpackInt4(packInt4(all), all.length, true))).toEqual(all);
    const unsigned = all.map((v) => v + 8);
    expect(Array.from(unpackInt4(packInt4(unsigned), unsigned.length, false))).toEqual(unsigned);
  });
});

describe('roundHalfEven', () => {
  it('rounds ties to even in both signs', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, -3]);
  });
});
