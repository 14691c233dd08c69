/**
 * TensorProto <-> Tensor for every dtype, raw_data and the typed fields,
 * with the spec's encodings checked value by value.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { TensorProtoSchema, type TensorProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { byteLength, DTYPES, type DType } from '../../../src/core/dtypes.js';
import { ModelpressError } from '../../../src/core/errors.js';
import { unpackInt4, type Tensor } from '../../../src/core/tensor.js';
import { checkTensorProto, tensorFromProto, tensorToProto, typedFieldFor } from '../../../src/formats/onnx/index.js';

/** Deterministic bytes (xorshift) so failures reproduce. */
function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function sampleTensor(dtype: DType, shape: number[], seed: number): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'string') {
    const strings = Array.from({ length: count }, (_, i) => new TextEncoder().encode(`s${i}-${'é'.repeat(i % 3)}`));
    return { dtype, shape, data: new Uint8Array(0), strings };
  }
  const data = pseudoRandomBytes(byteLength(dtype, count), seed);
  if (dtype === 'bool') for (let i = 0; i < data.length; i++) data[i] = data[i]! & 1;
  const bits = DTYPES.find((d) => d.name === dtype)!.bits;
  // unused high bits of the last packed byte are zero, as writers produce them
  if (bits < 8 && (count * bits) % 8 !== 0) data[data.length - 1]! &= (1 << ((count * bits) % 8)) - 1;
  return { dtype, shape, data };
}

function expectSameTensor(a: Tensor, b: Tensor): void {
  expect(a.dtype).toBe(b.dtype);
  expect([...a.shape]).toEqual([...b.shape]);
  expect(Array.from(a.data)).toEqual(Array.from(b.data));
  if (a.dtype === 'string') expect(a.strings!.map((s) => Array.from(s))).toEqual(b.strings!.map((s) => Array.from(s)));
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelpressError);
    return (e as ModelpressError).code;
  }
  return undefined;
}

describe('tensorFromProto / tensorToProto', () => {
  for (const { name: dtype } of DTYPES) {
    it(`${dtype}: raw and typed storage round-trip (odd and empty shapes)`, () => {
      for (const [shape, seed] of [
        [[3, 5], 7],
        [[7], 11],
        [[], 13],
        [[0, 4], 17],
      ] as const) {
        const t = sampleTensor(dtype, [...shape], seed);
        for (const storage of ['raw', 'typed'] as const) {
          const tp = tensorToProto('w', t, { storage });
          if (dtype !== 'string' && storage === 'raw') expect(tp.rawData.byteLength).toBe(t.data.byteLength);
          if (storage === 'typed' && t.data.byteLength > 0) {
            expect(tp.rawData.byteLength).toBe(0);
            expect(tp[typedFieldFor(dtype)].length).toBeGreaterThan(0);
          }
          expectSameTensor(tensorFromProto(tp), t);
        }
      }
    });
  }

  it('typed fields follow the spec encodings', () => {
    const i8 = tensorToProto('a', { dtype: 'int8', shape: [3], data: Uint8Array.of(0xfd, 0x7f, 0x80) }, { storage: 'typed' });
    expect(i8.int32Data).toEqual([-3, 127, -128]);
    const u8 = tensorToProto('a', { dtype: 'uint8', shape: [2], data: Uint8Array.of(0xfd, 0x01) }, { storage: 'typed' });
    expect(u8.int32Data).toEqual([253, 1]);
    const f16 = tensorToProto('a', { dtype: 'float16', shape: [2], data: Uint8Array.of(0xcd, 0xab, 0x00, 0x3c) }, { storage: 'typed' });
    expect(f16.int32Data).toEqual([0xabcd, 0x3c00]); // bit patterns as unsigned integers
    const i16 = tensorToProto('a', { dtype: 'int16', shape: [1], data: Uint8Array.of(0xff, 0xff) }, { storage: 'typed' });
    expect(i16.int32Data).toEqual([-1]);
    const u32 = tensorToProto('a', { dtype: 'uint32', shape: [1], data: Uint8Array.of(0xff, 0xff, 0xff, 0xff) }, { storage: 'typed' });
    expect(u32.uint64Data).toEqual([0xffffffffn]);
    const c64 = tensorToProto(
      'a',
      { dtype: 'complex64', shape: [1], data: new Uint8Array(Float32Array.of(1, 2).buffer) },
      { storage: 'typed' },
    );
    expect(c64.floatData).toEqual([1, 2]);
    // 4-bit: one int32 per packed byte, first element in the low nibble
    const i4 = tensorToProto('a', { dtype: 'int4', shape: [3], data: Uint8Array.of(0x21, 0x0f) }, { storage: 'typed' });
    expect(i4.int32Data).toEqual([0x21, 0x0f]);
    expect(Array.from(unpackInt4(tensorFromProto(i4).data, 3, true))).toEqual([1, 2, -1]);
  });

  it('decodes typed fields written by other tools (sign-extended int8, bool, uint64, double)', () => {
    const mk = (init: Partial<TensorProto>) => create(TensorProtoSchema, init as never);
    expect(Array.from(tensorFromProto(mk({ dataType: 3, dims: [2n], int32Data: [-1, 5] })).data)).toEqual([0xff, 5]);
    expect(Array.from(tensorFromProto(mk({ dataType: 9, dims: [3n], int32Data: [1, 0, 1] })).data)).toEqual([1, 0, 1]);
    const u64 = tensorFromProto(mk({ dataType: 13, dims: [1n], uint64Data: [2n ** 64n - 1n] }));
    expect(new BigUint64Array(u64.data.buffer)[0]).toBe(2n ** 64n - 1n);
    const f64 = tensorFromProto(mk({ dataType: 11, dims: [2n], doubleData: [Math.PI, -0] }));
    expect(Array.from(new Float64Array(f64.data.buffer))).toEqual([Math.PI, -0]);
    const i64 = tensorFromProto(mk({ dataType: 7, dims: [1, 2].map(BigInt), int64Data: [-(2n ** 63n), 42n] }));
    expect(Array.from(new BigInt64Array(i64.data.buffer))).toEqual([-(2n ** 63n), 42n]);
  });

  it('keeps quiet-NaN sign and payload bits in float_data written by tensorToProto (signaling NaNs come back quieted)', () => {
    const bits = Uint32Array.of(0xffc00001, 0x7fc12345, 0x80000000);
    const t: Tensor = { dtype: 'float32', shape: [3], data: new Uint8Array(bits.buffer) };
    const tp = tensorToProto('n', t, { storage: 'typed' });
    expect(Array.from(new Uint32Array(tensorFromProto(tp).data.buffer))).toEqual(Array.from(bits));
    // float32 -> JS number conversion in hardware sets the quiet bit of a signaling NaN; raw storage (the default) keeps it
    const snan: Tensor = { dtype: 'float32', shape: [1], data: new Uint8Array(Uint32Array.of(0x7f800001).buffer) };
    expect(new Uint32Array(tensorFromProto(tensorToProto('s', snan, { storage: 'typed' })).data.buffer)[0]).toBe(0x7fc00001);
    expect(new Uint32Array(tensorFromProto(tensorToProto('s', snan)).data.buffer)[0]).toBe(0x7f800001);
    const raw = tensorToProto('n', t);
    expect(toBinary(TensorProtoSchema, raw).byteLength).toBe(toBinary(TensorProtoSchema, tp).byteLength); // both 12 payload bytes + tags
  });

  it('rejects inconsistent tensors with ModelpressError codes', () => {
    const mk = (init: Partial<TensorProto>) => create(TensorProtoSchema, { name: 'bad', ...init } as never);
    expect(codeOf(() => tensorFromProto(mk({ dataType: 1, dims: [2n, 3n], rawData: new Uint8Array(20) }), 'm.onnx'))).toBe('E_CORRUPT');
    expect(() => tensorFromProto(mk({ dataType: 1, dims: [2n, 3n], rawData: new Uint8Array(20) }), 'm.onnx')).toThrow(
      "m.onnx: tensor 'bad': raw_data has 20 bytes but float32[2,3] needs 24",
    );
    expect(codeOf(() => tensorFromProto(mk({ dataType: 1, dims: [3n], floatData: [1, 2] })))).toBe('E_CORRUPT');
    expect(codeOf(() => tensorFromProto(mk({ dataType: 1, dims: [2n], int32Data: [1, 2] })))).toBe('E_CORRUPT');
    expect(codeOf(() => tensorFromProto(mk({ dataType: 1, dims: [1n], floatData: [1], rawData: new Uint8Array(4) })))).toBe('E_CORRUPT');
    expect(codeOf(() => tensorFromProto(mk({ dataType: 99, dims: [1n], rawData: new Uint8Array(1) })))).toBe('E_UNSUPPORTED');
    expect(codeOf(() => tensorFromProto(mk({ dataType: 0, dims: [1n], rawData: new Uint8Array(1) })))).toBe('E_CORRUPT');
    expect(codeOf(() => tensorFromProto(mk({ dataType: 1, dims: [-1n], rawData: new Uint8Array(0) })))).toBe('E_CORRUPT');
    expect(codeOf(() => tensorFromProto(mk({ dataType: 1, dims: [2n ** 40n, 2n ** 40n] })))).toBe('E_CORRUPT');
    expect(codeOf(() => tensorFromProto(mk({ dataType: 1, dims: [4n] })))).toBe('E_CORRUPT'); // no data at all
    expect(codeOf(() => tensorFromProto(mk({ dataType: 8, dims: [1n], rawData: new Uint8Array(1) })))).toBe('E_CORRUPT');
    expect(codeOf(() => tensorFromProto(mk({ dataType: 22, dims: [3n], int32Data: [1] })))).toBe('E_CORRUPT'); // int4 x3 needs 2 packed bytes
    expect(codeOf(() => tensorFromProto(mk({ dataType: 1, dims: [1n], dataLocation: 1 })))).toBe('E_CORRUPT'); // external without location
    expect(codeOf(() => tensorToProto('x', { dtype: 'float32', shape: [2], data: new Uint8Array(7) }))).toBe('E_SHAPE');
    expect(checkTensorProto(mk({ dataType: 1, dims: [0n, 5n] })).storage).toBe('none');
  });
});
