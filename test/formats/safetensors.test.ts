import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DType } from '../../src/core/dtypes.js';
import { ModelpressError } from '../../src/core/errors.js';
import { makeTensor, type Tensor } from '../../src/core/tensor.js';
import { readSafetensors, safetensorsDtypeName, writeSafetensors } from '../../src/formats/safetensors.js';

const enc = new TextEncoder();

/** A safetensors file from a header text and data bytes, with no validation (to build bad inputs). */
function rawFile(header: string, data: Uint8Array | number = 0): Uint8Array {
  const json = enc.encode(header);
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

function f32(values: number[], shape: number[]): Tensor {
  return makeTensor('float32', shape, new Uint8Array(new Float32Array(values).buffer));
}

function expectError(fn: () => unknown, code: string, ...parts: string[]): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelpressError);
    const err = e as ModelpressError;
    expect(err.code).toBe(code);
    for (const p of parts) expect(err.message).toContain(p);
    return;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe('writeSafetensors matches the reference serializer byte for byte', () => {
  it('one F32 tensor, header already a multiple of 8', () => {
    const out = writeSafetensors([{ name: 'attn.0', tensor: f32([0, 1, 2, 3, 4, 5], [1, 2, 3]) }]);
    // bytes from huggingface/safetensors' test_serialization
    expect([...out]).toEqual([
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44,
      34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34,
      58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);
  });

  it('pads the header with spaces to 8-byte alignment', () => {
    const out = writeSafetensors([{ name: 'attn0', tensor: f32([0, 1, 2, 3, 4, 5], [1, 1, 2, 3]) }]);
    expect(new DataView(out.buffer).getBigUint64(0, true)).toBe(72n);
    expect([...out.subarray(8 + 65, 8 + 72)]).toEqual([32, 32, 32, 32, 32, 32, 32]);
    expect(new Float32Array(out.slice(80).buffer)).toEqual(new Float32Array([0, 1, 2, 3, 4, 5]));
  });

  it('empty file, and metadata only', () => {
    expect([...writeSafetensors([])]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    const out = writeSafetensors([], { framework: 'pt' });
    expect(new TextDecoder().decode(out.subarray(8))).toBe('{"__metadata__":{"framework":"pt"}}     ');
    expect(readSafetensors(out).metadata).toEqual({ framework: 'pt' });
  });

  it('orders tensors by dtype alignment (widest first) then name, and keeps integer-like names in that order', () => {
    const out = writeSafetensors([
      { name: 'b', tensor: makeTensor('uint8', [3], new Uint8Array([1, 2, 3])) },
      { name: '10', tensor: f32([1], [1]) },
      { name: 'a', tensor: makeTensor('int64', [1], new Uint8Array(8).fill(7)) },
      { name: '2', tensor: f32([2], [1]) },
    ]);
    const header = new TextDecoder().decode(out.subarray(8, 8 + Number(new DataView(out.buffer).getBigUint64(0, true)))).trimEnd();
    expect(header).toBe(
      '{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"10":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
        '"2":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},"b":{"dtype":"U8","shape":[3],"data_offsets":[16,19]}}',
    );
    expect(readSafetensors(out).tensors.map((t) => t.name)).toEqual(['a', '10', '2', 'b']);
  });
});

const BITS: Partial<Record<DType, number>> = {
  bool: 8,
  uint8: 8,
  int8: 8,
  float8e5m2: 8,
  float8e4m3fn: 8,
  float8e8m0: 8,
  int16: 16,
  uint16: 16,
  float16: 16,
  bfloat16: 16,
  int32: 32,
  uint32: 32,
  float32: 32,
  complex64: 64,
  float64: 64,
  int64: 64,
  uint64: 64,
  float4e2m1: 4,
};

describe('readSafetensors', () => {
  it('reads every spec dtype modelpress has, with absolute offsets and views', () => {
    const dtypes: DType[] = [
      'bool',
      'uint8',
      'int8',
      'float8e5m2',
      'float8e4m3fn',
      'float8e8m0',
      'int16',
      'uint16',
      'float16',
      'bfloat16',
      'int32',
      'uint32',
      'float32',
      'complex64',
      'float64',
      'int64',
      'uint64',
      'float4e2m1',
    ];
    const tensors = dtypes.map((d, i) => {
      const shape = [2, 3];
      const bytes = (6 * BITS[d]!) / 8;
      return {
        name: `t${i}_${d}`,
        tensor: makeTensor(
          d,
          shape,
          Uint8Array.from({ length: bytes }, (_, j) => (i * 31 + j) & 0xff),
        ),
      };
    });
    const out = writeSafetensors(tensors);
    const back = readSafetensors(out, 'all.safetensors');
    expect(back.tensors).toHaveLength(dtypes.length);
    for (const t of tensors) {
      const r = back.tensors.find((x) => x.name === t.name)!;
      expect(r.tensor.dtype).toBe(t.tensor.dtype);
      expect(r.tensor.shape).toEqual([2, 3]);
      expect([...r.tensor.data]).toEqual([...t.tensor.data]);
      expect(r.location.kind).toBe('safetensors');
      if (r.location.kind === 'safetensors') {
        expect([...out.subarray(r.location.offset, r.location.offset + r.location.length)]).toEqual([...t.tensor.data]);
        const elem = BITS[t.tensor.dtype]! / 8;
        if (elem >= 1) expect(r.location.offset % Math.min(8, elem)).toBe(0);
      }
    }
    expect(safetensorsDtypeName('bfloat16')).toBe('BF16');
    expect(safetensorsDtypeName('string')).toBeUndefined();
  });

  it('keeps a "__proto__" metadata key as a plain key', () => {
    const r = readSafetensors(rawFile('{"__metadata__":{"__proto__":"x","a":"b"}}'));
    expect(Object.keys(r.metadata)).toEqual(['__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(r.metadata, '__proto__')?.value).toBe('x');
    expect(readSafetensors(rawFile('{"__metadata__":null}')).metadata).toEqual({});
  });

  it('accepts tensors listed in any order and zero-size tensors sharing an offset', () => {
    const file = rawFile(
      '{"z":{"dtype":"F32","shape":[0,4],"data_offsets":[4,4]},"b":{"dtype":"U8","shape":[],"data_offsets":[4,5]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}   ',
      5,
    );
    const r = readSafetensors(file);
    expect(r.tensors.map((t) => t.name)).toEqual(['a', 'z', 'b']);
    expect(r.tensors[2]!.tensor.shape).toEqual([]);
  });
});

describe('safetensors round trip (property)', () => {
  const dtypeArb = fc.constantFrom<DType>(
    'bool',
    'uint8',
    'int8',
    'int16',
    'uint16',
    'float16',
    'bfloat16',
    'int32',
    'uint32',
    'float32',
    'float64',
    'int64',
    'uint64',
    'float8e4m3fn',
    'complex64',
    'float4e2m1',
  );
  const shapeArb = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 4 });
  const tensorArb = fc.tuple(dtypeArb, shapeArb, fc.integer({ min: 0, max: 255 })).map(([dtype, shape0, seed]) => {
    let count = shape0.reduce((a, b) => a * b, 1);
    const shape = dtype === 'float4e2m1' && count % 2 === 1 ? [...shape0, 2] : shape0;
    count = shape.reduce((a, b) => a * b, 1);
    const data = Uint8Array.from({ length: (count * BITS[dtype]!) / 8 }, (_, i) => (seed + i * 7) & 0xff);
    return makeTensor(dtype, shape, data);
  });
  const nameArb = fc
    .string({ minLength: 1, maxLength: 12, unit: 'binary' })
    .filter((s) => s !== '__metadata__' && !/[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '')));
  const inputArb = fc.record({
    tensors: fc.uniqueArray(fc.tuple(nameArb, tensorArb), { selector: ([n]) => n, maxLength: 8 }),
    metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 12, unit: 'grapheme' }), { maxKeys: 4 }),
  });

  it('write -> read gives the same names, dtypes, shapes, bytes and metadata; writing again is byte-identical', () => {
    fc.assert(
      fc.property(inputArb, ({ tensors, metadata }) => {
        const input = tensors.map(([name, tensor]) => ({ name, tensor }));
        const bytes = writeSafetensors(input, metadata);
        const back = readSafetensors(bytes);
        expect(back.metadata).toEqual(metadata);
        expect(back.tensors.length).toBe(input.length);
        const byName = new Map(back.tensors.map((t) => [t.name, t]));
        for (const { name, tensor } of input) {
          const r = byName.get(name)!;
          expect(r.tensor.dtype).toBe(tensor.dtype);
          expect(r.tensor.shape).toEqual(tensor.shape);
          expect(r.tensor.data).toEqual(tensor.data);
          if (r.location.kind !== 'safetensors') throw new Error('location');
          const size =
            tensor.data.length /
            Math.max(
              1,
              tensor.shape.reduce((a, b) => a * b, 1),
            );
          if (size >= 1 && tensor.data.length > 0) expect(r.location.offset % Math.min(8, size)).toBe(0);
        }
        const again = writeSafetensors(back.tensors.slice().reverse(), back.metadata);
        expect(again).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });
});

describe('safetensors errors name the file, the tensor and the problem', () => {
  const F = 'bad.safetensors';
  it('overlapping offsets', () => {
    const file = rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8);
    expectError(() => readSafetensors(file, F), 'E_CORRUPT', F, '"b"', 'overlap');
  });
  it('offsets past the end', () => {
    const file = rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 4);
    expectError(() => readSafetensors(file, F), 'E_TRUNCATED', F, '"a"', 'past the end');
  });
  it('a gap between tensors', () => {
    const file = rawFile(
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}',
      12,
    );
    expectError(() => readSafetensors(file, F), 'E_CORRUPT', '"b"', 'gap');
  });
  it('trailing bytes after the last tensor', () => {
    const file = rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 6);
    expectError(() => readSafetensors(file, F), 'E_CORRUPT', 'trailing');
  });
  it('bad JSON', () => {
    expectError(() => readSafetensors(rawFile('{"a":{"dtype":"F32",'), F), 'E_CORRUPT', F, 'not valid JSON');
  });
  it('header not starting with {', () => {
    expectError(() => readSafetensors(rawFile('  {}'), F), 'E_FORMAT', "'{'");
  });
  it('invalid UTF-8 in the header', () => {
    const file = rawFile('{"a":1}');
    file[10] = 0xff;
    expectError(() => readSafetensors(file, F), 'E_CORRUPT', 'UTF-8');
  });
  it('header length past the end, too large, or file shorter than 8 bytes', () => {
    const file = rawFile('{}');
    new DataView(file.buffer).setBigUint64(0, 1000n, true);
    expectError(() => readSafetensors(file, F), 'E_TRUNCATED', F, 'header length 1000');
    new DataView(file.buffer).setBigUint64(0, 0xffffffffffffn, true);
    expectError(() => readSafetensors(file, F), 'E_CORRUPT', 'exceeds');
    expectError(() => readSafetensors(new Uint8Array(5), F), 'E_TRUNCATED', 'shorter than');
  });
  it('dtype/shape mismatch with the offsets', () => {
    const file = rawFile('{"w":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}', 8);
    expectError(() => readSafetensors(file, F), 'E_CORRUPT', '"w"', 'needs 6 bytes', 'span 8');
  });
  it('unknown dtype, unsupported dtype, bad shape, bad metadata', () => {
    expectError(
      () => readSafetensors(rawFile('{"w":{"dtype":"F128","shape":[],"data_offsets":[0,16]}}', 16), F),
      'E_CORRUPT',
      '"w"',
      'F128',
    );
    expectError(
      () => readSafetensors(rawFile('{"w":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[0,3]}}', 3), F),
      'E_UNSUPPORTED',
      'F6_E2M3',
    );
    expectError(() => readSafetensors(rawFile('{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 4), F), 'E_CORRUPT', 'shape[0]');
    expectError(() => readSafetensors(rawFile('{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', 2), F), 'E_CORRUPT', 'whole bytes');
    expectError(() => readSafetensors(rawFile('{"__metadata__":{"a":1}}'), F), 'E_CORRUPT', '__metadata__');
    expectError(() => readSafetensors(rawFile('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', 4), F), 'E_CORRUPT', 'end before');
  });
  it('writer refuses what safetensors cannot hold', () => {
    expectError(
      () => writeSafetensors([{ name: 's', tensor: { dtype: 'string', shape: [1], data: new Uint8Array(0), strings: [enc.encode('x')] } }]),
      'E_UNSUPPORTED',
      '"s"',
    );
    expectError(
      () =>
        writeSafetensors([
          { name: 'a', tensor: f32([1], [1]) },
          { name: 'a', tensor: f32([1], [1]) },
        ]),
      'E_ARG',
      'duplicate',
    );
    expectError(
      () => writeSafetensors([{ name: 'a', tensor: { dtype: 'float32', shape: [2], data: new Uint8Array(4) } }]),
      'E_SHAPE',
      'needs 8 bytes',
    );
  });
});

describe('safetensors fuzz: truncations and bit flips', () => {
  it('never throws anything but a ModelpressError, never hangs', () => {
    const good = writeSafetensors(
      [
        { name: 'weight', tensor: f32([1, 2, 3, 4, 5, 6], [2, 3]) },
        { name: 'bias', tensor: makeTensor('float16', [3], new Uint8Array(6)) },
        { name: 'mask', tensor: makeTensor('bool', [4], new Uint8Array([1, 0, 1, 1])) },
      ],
      { format: 'pt' },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: good.length }),
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 7 })), { maxLength: 4 }),
        (cut, flips) => {
          const bytes = good.slice(0, cut);
          for (const [pos, bit] of flips) if (pos < bytes.length) bytes[pos]! ^= 1 << bit;
          try {
            readSafetensors(bytes, 'fuzz.safetensors');
          } catch (e) {
            if (!(e instanceof ModelpressError)) throw e;
            expect(e.message).toContain('fuzz.safetensors');
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
