import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelpressError } from '../../src/core/errors.js';
import { makeTensor, toFloat32 } from '../../src/core/tensor.js';
import {
  quantizeTfjsAffine,
  readTfjs,
  tfjsStoredWeight,
  tfjsWriteInput,
  writeTfjs,
  type TfjsModel,
  type TfjsWeightEntry,
} from '../../src/formats/tfjs/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const enc = new TextEncoder();
const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function strings(...s: string[]): Uint8Array {
  return concat(s.flatMap((x) => [bytesOf(new Uint32Array([enc.encode(x).length])), enc.encode(x)]));
}

/**
 * A graph model written by hand (not by our writer): 2 groups, 3 shards,
 * group 1 cut in the middle of a weight. Every dtype and quantization TF.js has.
 */
function handMadeModel(): { json: string; files: Map<string, Uint8Array>; groups: { entries: TfjsWeightEntry[]; bytes: Uint8Array }[] } {
  const u8codes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const u16codes = Uint16Array.from({ length: 300 }, (_, i) => (i * 219 + 7) % 65536);
  const f16bits = Uint16Array.from([
    0x0000, 0x8000, 0x3c00, 0xbc00, 0x7bff, 0xfbff, 0x0001, 0x8001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0x3555, 0x1234,
  ]);
  const group1: [TfjsWeightEntry, Uint8Array][] = [
    [{ name: 'w_f32', shape: [2, 3], dtype: 'float32' }, bytesOf(new Float32Array([1.5, -2.25, 3e-39, -0, Infinity, 1 / 3]))],
    [{ name: 'idx', shape: [5], dtype: 'int32' }, bytesOf(new Int32Array([0, -1, 2147483647, -2147483648, 42]))],
    [{ name: 'mask', shape: [3], dtype: 'bool' }, new Uint8Array([1, 0, 1])],
    [{ name: 'w_f16', shape: [4, 4], dtype: 'float32', quantization: { dtype: 'float16', original_dtype: 'float32' } }, bytesOf(f16bits)],
  ];
  const group2: [TfjsWeightEntry, Uint8Array][] = [
    [
      {
        name: 'w_u8',
        shape: [16, 16],
        dtype: 'float32',
        quantization: { dtype: 'uint8', min: -0.10196078817, scale: 0.00509803940852, original_dtype: 'float32' },
      },
      u8codes,
    ],
    [
      { name: 'w_u16', shape: [300], dtype: 'float32', quantization: { dtype: 'uint16', min: -1.2345678, scale: 3.7e-5 } },
      bytesOf(u16codes),
    ],
    [
      { name: 'i_u8', shape: [4], dtype: 'int32', quantization: { dtype: 'uint8', min: -10.3, scale: 0.5 } },
      new Uint8Array([0, 1, 21, 255]),
    ],
    [{ name: 'labels', shape: [3], dtype: 'string' }, strings('cat', '', 'Düsseldorf')],
    [{ name: 'empty', shape: [0, 3], dtype: 'float32' }, new Uint8Array(0)],
  ];
  const g1 = concat(group1.map(([, b]) => b));
  const g2 = concat(group2.map(([, b]) => b));
  const cut = 13; // inside idx
  const files = new Map<string, Uint8Array>([
    ['group1-shard1of2.bin', g1.slice(0, cut)],
    ['group1-shard2of2.bin', g1.slice(cut)],
    ['weights/g2.bin', g2.slice()],
  ]);
  const manifest = [
    { paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: group1.map(([e]) => e) },
    { paths: ['weights/g2.bin'], weights: group2.map(([e]) => e) },
  ];
  const json = JSON.stringify({
    format: 'graph-model',
    generatedBy: 'hand',
    convertedBy: null,
    modelTopology: { node: [], versions: { producer: 1 } },
    weightsManifest: manifest,
  });
  return {
    json,
    files,
    groups: [
      { entries: group1.map(([e]) => e), bytes: g1 },
      { entries: group2.map(([e]) => e), bytes: g2 },
    ],
  };
}

function loaderOf(files: Map<string, Uint8Array>): (p: string) => Uint8Array {
  return (p) => {
    const b = files.get(p);
    if (!b) throw new Error(`ENOENT: ${p}`);
    return b;
  };
}

/** What tfjs-core's io.decodeWeights makes of the same bytes, as raw bytes / strings per name. */
function tfjsDecode(
  groups: { entries: TfjsWeightEntry[]; bytes: Uint8Array }[],
): Map<string, { dtype: string; shape: number[]; bytes?: Uint8Array; strings?: Uint8Array[] }> {
  const data = concat(groups.map((g) => g.bytes));
  const specs = groups.flatMap((g) => g.entries) as unknown as tf.io.WeightsManifestEntry[];
  const out = tf.io.decodeWeights(data.slice().buffer, specs);
  const result = new Map<string, { dtype: string; shape: number[]; bytes?: Uint8Array; strings?: Uint8Array[] }>();
  for (const [name, t] of Object.entries(out)) {
    if (t.dtype === 'string')
      result.set(name, { dtype: t.dtype, shape: t.shape, strings: (t.dataSync() as unknown as string[]).map((x) => enc.encode(x)) }); // tfjs hands strings back decoded
    else result.set(name, { dtype: t.dtype, shape: t.shape, bytes: bytesOf(t.dataSync() as Float32Array) });
    t.dispose();
  }
  return result;
}

function expectSameAsTfjs(model: TfjsModel, groups: { entries: TfjsWeightEntry[]; bytes: Uint8Array }[]): void {
  const ref = tfjsDecode(groups);
  expect(model.tensors.map((t) => t.name)).toEqual([...ref.keys()]);
  for (const t of model.tensors) {
    const r = ref.get(t.name)!;
    expect(t.tensor.shape, t.name).toEqual(r.shape);
    expect(t.tensor.dtype, t.name).toBe(r.dtype);
    if (r.strings)
      expect(
        t.tensor.strings!.map((s) => [...s]),
        t.name,
      ).toEqual(r.strings.map((s) => [...s]));
    else expect([...t.tensor.data], t.name).toEqual([...r.bytes!]); // bit for bit, NaN payloads included
  }
}

describe('readTfjs', () => {
  it('decodes every dtype and quantization bit for bit as tfjs-core io.decodeWeights does (2 groups, 3 shards)', () => {
    const { json, files, groups } = handMadeModel();
    const model = readTfjs(json, loaderOf(files), 'model.json');
    expect(model.kind).toBe('graph-model');
    expectSameAsTfjs(model, groups);
    // a few values by hand: tfjs computes q * scale + min in float64, stored once as float32
    const u8 = toFloat32(model.tensors.find((t) => t.name === 'w_u8')!.tensor);
    expect(u8[20]).toBe(Math.fround(20 * 0.00509803940852 + -0.10196078817));
    expect(new Int32Array(model.tensors.find((t) => t.name === 'i_u8')!.tensor.data.slice().buffer)).toEqual(
      new Int32Array([-10, -10, 0, 117]),
    );
    expect(model.tensors.find((t) => t.name === 'labels')!.tensor.strings!.map((s) => new TextDecoder().decode(s))).toEqual([
      'cat',
      '',
      'Düsseldorf',
    ]);
  });

  it('keeps the stored (quantized) bytes and the manifest entry of each weight', () => {
    const { json, files } = handMadeModel();
    const model = readTfjs(json, loaderOf(files));
    const s = tfjsStoredWeight(model, 'w_u16');
    expect(s.group).toBe(1);
    expect(s.entry.quantization).toEqual({ dtype: 'uint16', min: -1.2345678, scale: 3.7e-5 });
    expect(new Uint16Array(s.bytes.slice().buffer)[1]).toBe(226);
    expect(model.tensors.find((t) => t.name === 'w_u16')!.location).toEqual({
      kind: 'tfjs',
      group: 1,
      shards: ['weights/g2.bin'],
      quantization: 'uint16',
    });
    expect(() => tfjsStoredWeight(model, 'nope')).toThrow(ModelpressError);
  });

  it('decodes all 65,536 float16 patterns as tfjs-core does', () => {
    const codes = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const entry: TfjsWeightEntry = { name: 'all', shape: [65536], dtype: 'float32', quantization: { dtype: 'float16' } };
    const json = JSON.stringify({
      format: 'graph-model',
      modelTopology: { node: [] },
      weightsManifest: [{ paths: ['a.bin'], weights: [entry] }],
    });
    const model = readTfjs(json, () => bytesOf(codes));
    expectSameAsTfjs(model, [{ entries: [entry], bytes: bytesOf(codes) }]);
  });

  it('reads a layers-model, and an old model JSON without "format"', () => {
    const w = bytesOf(new Float32Array([1, 2, 3, 4, 5, 6]));
    const layers = {
      format: 'layers-model',
      modelTopology: {
        class_name: 'Sequential',
        config: { name: 'seq', layers: [{ class_name: 'Dense', config: { units: 2, name: 'dense' } }] },
        keras_version: '2.4.0',
        backend: 'tensorflow',
      },
      weightsManifest: [
        {
          paths: ['blazeface.bin'],
          weights: [
            { name: 'dense/kernel', shape: [2, 2], dtype: 'float32' },
            { name: 'dense/bias', shape: [2], dtype: 'float32' },
          ],
        },
      ],
    };
    const m = readTfjs(enc.encode(JSON.stringify(layers)), () => w, 'blazeface.json');
    expect(m.kind).toBe('layers-model');
    expect(m.tensors.map((t) => [t.name, [...toFloat32(t.tensor)]])).toEqual([
      ['dense/kernel', [1, 2, 3, 4]],
      ['dense/bias', [5, 6]],
    ]);
    const { format: _f, ...old } = layers;
    expect(readTfjs(JSON.stringify(old), () => w).kind).toBe('layers-model');
    expect(readTfjs(JSON.stringify({ modelTopology: { node: [] } }), () => w).tensors).toEqual([]);
  });
  it('reads entries that put the storage type in dtype and the real one in quantization.original_dtype', () => {
    const entry = {
      name: 'w',
      shape: [3],
      dtype: 'uint8',
      quantization: { dtype: 'uint8', scale: 0.5, min: -1, original_dtype: 'float32' },
    };
    const json = JSON.stringify({
      format: 'layers-model',
      modelTopology: { class_name: 'Sequential' },
      weightsManifest: [{ paths: ['w.bin'], weights: [entry] }],
    });
    const m = readTfjs(json, () => new Uint8Array([0, 1, 4]));
    expect(m.tensors[0]!.tensor.dtype).toBe('float32');
    expect([...toFloat32(m.tensors[0]!.tensor)]).toEqual([-1, -0.5, 1]);
  });
});

describe('writeTfjs', () => {
  it('rewrites a model as read with identical shard streams and manifest', () => {
    const { json, files, groups } = handMadeModel();
    const model = readTfjs(json, loaderOf(files));
    const out = writeTfjs(model.modelJson, tfjsWriteInput(model), { shardSize: 40 });
    const orig = JSON.parse(json);
    expect(out.modelJson.weightsManifest!.map((g) => g.weights)).toEqual(orig.weightsManifest.map((g: { weights: unknown }) => g.weights));
    const n2 = Math.ceil(groups[1]!.bytes.length / 40);
    expect(n2).toBe(23);
    expect(out.shards.map((s) => s.path)).toEqual([
      'group1-shard1of2.bin',
      'group1-shard2of2.bin',
      ...Array.from({ length: n2 }, (_, i) => `group2-shard${i + 1}of${n2}.bin`),
    ]);
    expect(out.shards.every((s) => s.bytes.length <= 40)).toBe(true);
    const byGroup = (g: number) => concat(out.shards.filter((s) => s.path.startsWith(`group${g}-`)).map((s) => s.bytes));
    expect(byGroup(1)).toEqual(groups[0]!.bytes);
    expect(byGroup(2)).toEqual(groups[1]!.bytes);
    const again = readTfjs(out.json, loaderOf(new Map(out.shards.map((s) => [s.path, s.bytes]))));
    expect(again.tensors).toEqual(model.tensors.map((t, i) => ({ ...t, location: again.tensors[i]!.location })));
    expect(out.conversions).toEqual([]);
  });

  it('quantizes like tfjs-converter: the converter docstring example and an exactly representable zero', () => {
    const q = quantizeTfjsAffine(new Float32Array([0, -0.1, 1.2]), 'uint8');
    expect([...q.data]).toEqual([20, 0, 255]);
    expect(q.min).toBeCloseTo(-0.10196078817, 10);
    expect(q.scale).toBeCloseTo(0.00509803940852, 12);
    expect(quantizeTfjsAffine(new Float32Array([1, 1, 1]), 'uint8')).toEqual({ dtype: 'uint8', data: new Uint8Array(3), scale: 1, min: 1 });
    fc.assert(
      fc.property(
        fc.float32Array({ minLength: 2, maxLength: 50, noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
        fc.constantFrom('uint8' as const, 'uint16' as const),
        (v, dt) => {
          const withZero = Float32Array.from([...v, 0]);
          const r = quantizeTfjsAffine(withZero, dt);
          const lo = Math.min(...withZero);
          const hi = Math.max(...withZero);
          if (lo === hi) return;
          const qmax = dt === 'uint8' ? 255 : 65535;
          expect(r.scale).toBe((hi - lo) / qmax);
          // 0 is a code exactly: 0 = code * scale + min in the float32 TF.js computes
          expect(Math.fround(r.data[withZero.length - 1]! * r.scale + r.min)).toBe(0);
          for (let i = 0; i < withZero.length; i++)
            expect(Math.abs(r.data[i]! * r.scale + r.min - withZero[i]!)).toBeLessThanOrEqual(
              r.scale * 0.5 * (1 + 1e-9) + Math.abs(withZero[i]!) * 1e-12,
            );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('writes uint8/uint16/float16 manifests that tfjs-core decodes to the values we read back', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 0.37) * (i % 7) - 0.5);
    const t = makeTensor('float32', [10, 100], bytesOf(values));
    const tensors = [
      { name: 'a', tensor: t },
      { name: 'b', tensor: t, group: 1 },
      { name: 'c', tensor: t, group: 1 },
      { name: 'd', tensor: t, group: 2 },
      { name: 'half', tensor: makeTensor('float16', [2], bytesOf(new Uint16Array([0x3c00, 0xc000]))) },
      { name: 'n', tensor: makeTensor('int64', [2], bytesOf(new BigInt64Array([5n, -7n]))) },
    ];
    const out = writeTfjs({ format: 'graph-model', modelTopology: { node: [] } }, tensors, {
      quantize: { a: 'uint8', b: 'uint16', c: 'float16' },
      shardSize: 1500,
    });
    expect(out.modelJson.weightsManifest![0]!.weights[0]!.quantization).toMatchObject({ dtype: 'uint8', original_dtype: 'float32' });
    expect(out.conversions).toEqual([{ name: 'n', from: 'int64', to: 'int32', lossless: true }]);
    const back = readTfjs(out.json, loaderOf(new Map(out.shards.map((s) => [s.path, s.bytes]))));
    const groups = out.modelJson.weightsManifest!.map((g) => ({
      entries: [...g.weights],
      bytes: concat(g.paths.map((p) => out.shards.find((s) => s.path === p)!.bytes)),
    }));
    expectSameAsTfjs(back, groups);
    const err = (name: string) => {
      const v = toFloat32(back.tensors.find((x) => x.name === name)!.tensor);
      return Math.max(...Array.from(v, (x, i) => Math.abs(x - values[i]!)));
    };
    const range = Math.max(...values) - Math.min(...values);
    expect(err('a')).toBeLessThanOrEqual((range / 255) * 0.5 * 1.0001);
    expect(err('b')).toBeLessThanOrEqual((range / 65535) * 0.5 * 1.0001);
    expect(err('c')).toBeLessThan(2e-3);
    expect(err('d')).toBe(0);
    expect([...toFloat32(back.tensors.find((x) => x.name === 'half')!.tensor)]).toEqual([1, -2]);
    // a weight read quantized keeps its codes, scale and min when written again
    const re = writeTfjs(back.modelJson, tfjsWriteInput(back), { shardSize: 1500 });
    expect(re.json).toBe(out.json);
    expect(re.shards).toEqual(out.shards);
  });

  it('refuses what TF.js cannot hold', () => {
    const m = { format: 'graph-model', modelTopology: { node: [] } };
    const f = makeTensor('float32', [1], new Uint8Array(4));
    expect(() => writeTfjs(m, [{ name: 'x', tensor: makeTensor('int4', [2], new Uint8Array(1)) }])).toThrow(/int4/);
    expect(() => writeTfjs(m, [{ name: 'x', tensor: makeTensor('int64', [1], bytesOf(new BigInt64Array([1n << 40n]))) }])).toThrow(/int32/);
    expect(() => writeTfjs(m, [{ name: 'x', tensor: f }], { quantize: { y: 'uint8' } })).toThrow(/"y"/);
    expect(() => writeTfjs(m, [{ name: 'x', tensor: makeTensor('int32', [1], new Uint8Array(4)) }], { quantize: { x: 'uint8' } })).toThrow(
      /only float/,
    );
    expect(() =>
      writeTfjs(m, [
        { name: 'x', tensor: f },
        { name: 'x', tensor: f },
      ]),
    ).toThrow(/duplicate/);
    expect(() => writeTfjs({ foo: 1 }, [])).toThrow(ModelpressError);
    expect(() => writeTfjs(m, [], { shardSize: 0 })).toThrow(/shardSize/);
    expect(() =>
      writeTfjs(m, [{ name: 'x', tensor: makeTensor('float32', [1], bytesOf(new Float32Array([NaN]))) }], { quantize: 'uint8' }),
    ).toThrow(/finite/);
  });
});

describe('TF.js write -> read round trip (property)', () => {
  const kinds = ['float32', 'float16', 'int32', 'int16', 'bool', 'string', 'complex64', 'q-uint8', 'q-uint16', 'q-float16'] as const;
  const itemArb = fc.record({
    kind: fc.constantFrom(...kinds),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    group: fc.integer({ min: 0, max: 2 }),
    seed: fc.integer({ min: 1, max: 1000 }),
  });
  function build(kind: (typeof kinds)[number], shape: number[], seed: number) {
    const n = shape.reduce((a, b) => a * b, 1);
    const wave = Float32Array.from({ length: n }, (_, i) => Math.sin(seed + i * 0.77) * seed);
    switch (kind) {
      case 'float16':
        return makeTensor('float16', shape, bytesOf(Uint16Array.from({ length: n }, (_, i) => (seed * 977 + i * 131) & 0x7bff)));
      case 'int32':
        return makeTensor('int32', shape, bytesOf(Int32Array.from(wave, (v) => Math.round(v * 1000))));
      case 'int16':
        return makeTensor('int16', shape, bytesOf(Int16Array.from(wave, (v) => Math.round(v))));
      case 'bool':
        return makeTensor(
          'bool',
          shape,
          Uint8Array.from(wave, (v) => (v > 0 ? 1 : 0)),
        );
      case 'string':
        return {
          dtype: 'string' as const,
          shape,
          data: new Uint8Array(0),
          strings: Array.from({ length: n }, (_, i) => enc.encode('x'.repeat((seed + i) % 5))),
        };
      case 'complex64':
        return makeTensor('complex64', shape, bytesOf(Float32Array.from({ length: 2 * n }, (_, i) => i * seed)));
      default:
        return makeTensor('float32', shape, bytesOf(wave));
    }
  }
  it('every dtype and quantization, random groups and shard sizes: read back as TF.js decodes it, rewritten byte-identically', () => {
    fc.assert(
      fc.property(fc.array(itemArb, { maxLength: 8 }), fc.integer({ min: 1, max: 64 }), (items, shardSize) => {
        const tensors = items.map((it, i) => ({ name: `w${i}`, tensor: build(it.kind, it.shape, it.seed), group: it.group }));
        const quantize = Object.fromEntries(
          items.flatMap((it, i) => (it.kind.startsWith('q-') ? [[`w${i}`, it.kind.slice(2) as 'uint8']] : [])),
        );
        const out = writeTfjs({ format: 'graph-model', modelTopology: { node: [] } }, tensors, { shardSize, quantize });
        expect(out.shards.every((s) => s.bytes.length <= shardSize && s.bytes.length > 0)).toBe(true);
        const files = new Map(out.shards.map((s) => [s.path, s.bytes]));
        const back = readTfjs(out.json, loaderOf(files));
        const groups = out.modelJson.weightsManifest!.map((g) => ({
          entries: [...g.weights],
          bytes: concat(g.paths.map((p) => files.get(p)!)),
        }));
        if (back.tensors.length > 0) expectSameAsTfjs(back, groups);
        for (const t of tensors) {
          const r = back.tensors.find((x) => x.name === t.name)!;
          expect(r.tensor.shape).toEqual(t.tensor.shape);
          if (t.tensor.dtype === 'string') expect(r.tensor.strings).toEqual(t.tensor.strings);
          else if (t.tensor.dtype === 'complex64') expect(r.tensor.data).toEqual(t.tensor.data);
          else if (!(t.name in quantize)) expect([...toFloat32(r.tensor)]).toEqual([...toFloat32(t.tensor)]);
        }
        const again = writeTfjs(back.modelJson, tfjsWriteInput(back), { shardSize });
        expect(again.json).toBe(out.json);
        expect(again.shards).toEqual(out.shards);
      }),
      { numRuns: 150 },
    );
  });
});

describe('TF.js errors name the file and the problem', () => {
  function expectCode(fn: () => unknown, code: string, ...parts: string[]): void {
    let caught: unknown;
    try {
      fn();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ModelpressError);
    expect((caught as ModelpressError).code).toBe(code);
    for (const p of parts) expect((caught as ModelpressError).message).toContain(p);
  }

  it('missing shard, short shard, long shard, bad JSON, bad entries', () => {
    const { json, files } = handMadeModel();
    const missing = new Map(files);
    missing.delete('weights/g2.bin');
    expectCode(() => readTfjs(json, loaderOf(missing), 'm.json'), 'E_NOT_FOUND', 'm.json', 'weights/g2.bin');
    const short = new Map(files);
    short.set('group1-shard2of2.bin', files.get('group1-shard2of2.bin')!.subarray(0, 20));
    expectCode(() => readTfjs(json, loaderOf(short), 'm.json'), 'E_TRUNCATED', 'm.json', 'group1-shard1of2.bin, group1-shard2of2.bin');
    const long = new Map(files);
    long.set('weights/g2.bin', concat([files.get('weights/g2.bin')!, new Uint8Array(3)]));
    expectCode(() => readTfjs(json, loaderOf(long), 'm.json'), 'E_CORRUPT', 'weightsManifest[1]', 'hold');
    expectCode(() => readTfjs(json.slice(0, 50), loaderOf(files), 'm.json'), 'E_CORRUPT', 'm.json', 'does not parse');
    const m = (weights: unknown[]) =>
      JSON.stringify({ format: 'graph-model', modelTopology: {}, weightsManifest: [{ paths: ['a'], weights }] });
    const a = () => new Uint8Array(4);
    expectCode(
      () => readTfjs(m([{ name: 'x', shape: [1], dtype: 'float32', quantization: { dtype: 'uint8' } }]), a, 'q.json'),
      'E_CORRUPT',
      '"x"',
      'scale',
    );
    expectCode(
      () => readTfjs(m([{ name: 'x', shape: [1], dtype: 'float32', quantization: { dtype: 'int4' } }]), a),
      'E_UNSUPPORTED',
      'int4',
    );
    expectCode(
      () => readTfjs(m([{ name: 'x', shape: [1], dtype: 'int32', quantization: { dtype: 'float16' } }]), a),
      'E_UNSUPPORTED',
      'float16',
    );
    expectCode(() => readTfjs(m([{ name: 'x', shape: [1], dtype: 'float64' }]), a), 'E_UNSUPPORTED', 'float64');
    expectCode(() => readTfjs(m([{ name: 'x', shape: [-1], dtype: 'float32' }]), a), 'E_CORRUPT', 'shape[0]');
    expectCode(
      () =>
        readTfjs(
          m([
            { name: 'x', shape: [1], dtype: 'float32' },
            { name: 'x', shape: [0], dtype: 'float32' },
          ]),
          a,
        ),
      'E_CORRUPT',
      'twice',
    );
    expectCode(() => readTfjs(m([{ name: 's', shape: [2], dtype: 'string' }]), () => strings('abc')), 'E_TRUNCATED', '"s"');
    expectCode(() => readTfjs('{"format":"saved-model"}', a), 'E_UNSUPPORTED', 'saved-model');
    expectCode(() => readTfjs('[1,2]', a), 'E_FORMAT');
  });

  it('fuzz: truncated and bit-flipped JSON and shards give only ModelpressErrors', () => {
    const { json, files } = handMadeModel();
    const jsonBytes = enc.encode(json);
    fc.assert(
      fc.property(
        fc.nat(jsonBytes.length),
        fc.nat(jsonBytes.length - 1),
        fc.nat(7),
        fc.constantFrom(...files.keys()),
        fc.nat(400),
        fc.nat(7),
        (cut, pos, bit, shard, spos, sbit) => {
          const j = jsonBytes.slice(0, cut);
          if (pos < j.length) j[pos]! ^= 1 << bit;
          const f = new Map(files);
          const s = f.get(shard)!.slice(0, Math.max(0, f.get(shard)!.length - (spos % 5)));
          if (spos < s.length) s[spos]! ^= 1 << sbit;
          f.set(shard, s);
          for (const input of [j, jsonBytes]) {
            try {
              readTfjs(input, loaderOf(f), 'fuzz.json');
            } catch (e) {
              if (!(e instanceof ModelpressError)) throw e;
              expect(e.message).toContain('fuzz.json');
            }
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});
