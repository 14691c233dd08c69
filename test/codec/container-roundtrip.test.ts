import { describe, expect, it } from 'vitest';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { ModelProtoSchema, type TensorProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import {
  listMpzTensors,
  openMpzRanged,
  packModel,
  readTensor,
  unpackModel,
  unpackStream,
  type PackInput,
} from '../../src/codec/container/index.js';
import { sourceLayout } from '../../src/codec/container/layout.js';
import { onnxByteLayout } from '../../src/formats/onnx/layout.js';
import { decodeMpz, decodeMpzFiles } from '../../src/browser/decode.js';
import { REAL_FIXTURES, bytesOf, makeSafetensors, makeTfjs, pieceStream, readBytes, rng } from './container-helpers.js';

function onnxInput(bytes: Uint8Array): PackInput {
  return { format: 'onnx', files: [{ name: '', bytes }] };
}

function tensorProto(
  name: string,
  dataType: number,
  dims: number[],
  raw: Uint8Array<ArrayBuffer>,
): MessageInitShape<typeof TensorProtoSchema> {
  return { name, dataType, dims: dims.map(BigInt), rawData: raw };
}

/**
 * An already-quantized model: int8 weights feeding DequantizeLinear, a
 * clustered (16-value) and pruned (70% zeros) float weight, and a weight
 * repeated verbatim under a second name.
 */
function quantizedModel(): { bytes: Uint8Array; wq: Int8Array; clustered: Float32Array; pruned: Float32Array } {
  const rand = rng(7);
  const wq = Int8Array.from({ length: 64 * 512 }, () => Math.round((rand() + rand() + rand() - 1.5) * 40));
  const centers = Float32Array.from({ length: 16 }, () => (rand() - 0.5) * 0.2);
  const clustered = Float32Array.from({ length: 512 * 16 }, () => centers[Math.floor(rand() * 16)]!);
  const pruned = Float32Array.from({ length: 16 * 8 }, () => (rand() < 0.7 ? 0 : (rand() - 0.5) * 0.1));
  const init: MessageInitShape<typeof ModelProtoSchema> = {
    irVersion: 8n,
    producerName: 'container-test',
    opsetImport: [{ domain: '', version: 13n }],
    graph: {
      name: 'q',
      node: [
        { opType: 'DequantizeLinear', input: ['Wq', 'scale', 'zp'], output: ['W'] },
        { opType: 'MatMul', input: ['X', 'W'], output: ['H'] },
        { opType: 'MatMul', input: ['H', 'C'], output: ['H2'] },
        { opType: 'MatMul', input: ['H2', 'P'], output: ['Y'] },
        { opType: 'MatMul', input: ['H2', 'P_copy'], output: ['Y2'] },
      ],
      initializer: [
        tensorProto('Wq', 3, [64, 512], bytesOf(wq)),
        tensorProto('scale', 1, [], bytesOf(Float32Array.of(0.01))),
        tensorProto('zp', 3, [], Uint8Array.of(0)),
        tensorProto('C', 1, [512, 16], bytesOf(clustered)),
        tensorProto('P', 1, [16, 8], bytesOf(pruned)),
        tensorProto('P_copy', 1, [16, 8], bytesOf(pruned.slice())),
      ],
      input: [
        {
          name: 'X',
          type: {
            value: {
              case: 'tensorType',
              value: {
                elemType: 1,
                shape: { dim: [{ value: { case: 'dimValue', value: 1n } }, { value: { case: 'dimValue', value: 64n } }] },
              },
            },
          },
        },
      ],
      output: [
        { name: 'Y', type: { value: { case: 'tensorType', value: { elemType: 1 } } } },
        { name: 'Y2', type: { value: { case: 'tensorType', value: { elemType: 1 } } } },
      ],
    },
  };
  return { bytes: toBinary(ModelProtoSchema, create(ModelProtoSchema, init)), wq, clustered, pruned };
}

describe('.mpz lossless pack/unpack on the real fixtures', () => {
  for (const path of REAL_FIXTURES) {
    it(`${path.split('/').pop()} unpacks byte-identical, streams identically, and is smaller than the input`, async () => {
      const original = readBytes(path);
      const { bytes, report } = packModel(onnxInput(original), { verify: false });
      expect(report.fallback).toBeUndefined();
      expect(bytes.length).toBeLessThan(original.length * 0.9);
      const back = unpackModel(bytes);
      expect(back.format).toBe('onnx');
      expect(back.files).toHaveLength(1);
      expect(Buffer.compare(Buffer.from(back.files[0]!.bytes), Buffer.from(original))).toBe(0);
      const streamed = await unpackStream(pieceStream(bytes, 11, 100_000));
      expect(Buffer.compare(Buffer.from(streamed.files[0]!.bytes), Buffer.from(original))).toBe(0);
    });
  }

  it('silero_vad: duplicated If-branch weights are stored once', () => {
    const original = readBytes(REAL_FIXTURES[1]!);
    const { report } = packModel(onnxInput(original), { verify: false });
    const dedup = report.tensors.filter((t) => t.pipeline === 'dedup');
    expect(dedup.length).toBeGreaterThan(5);
    expect(dedup.reduce((a, t) => a + t.rawBytes, 0)).toBeGreaterThan(500_000);
  });
});

describe('.mpz random access', () => {
  it('readTensor returns exactly the payload bytes of one tensor of the cls model', () => {
    const original = readBytes(REAL_FIXTURES[0]!);
    const { bytes } = packModel(onnxInput(original));
    const slots = sourceLayout(onnxByteLayout(original)).slots;
    const listed = listMpzTensors(bytes);
    expect(listed.map((t) => t.name)).toEqual(slots.map((s) => s.name));
    for (const slot of [slots[0]!, slots[Math.floor(slots.length / 2)]!, slots[slots.length - 1]!]) {
      const t = readTensor(bytes, slot.name);
      expect(t.dtype).toBe(slot.dtype);
      expect(t.shape).toEqual(slot.shape);
      expect(Buffer.compare(Buffer.from(t.data), Buffer.from(original.subarray(slot.offset, slot.offset + slot.length)))).toBe(0);
    }
    expect(() => readTensor(bytes, 'no such tensor')).toThrow(expect.objectContaining({ code: 'E_NOT_FOUND' }));
  });

  it('through a range reader, one tensor costs only the header, index, trailer and its own chunks', async () => {
    const original = readBytes(REAL_FIXTURES[1]!); // silero: includes deduplicated tensors
    const { bytes } = packModel(onnxInput(original), { verify: false });
    let read = 0;
    const mpz = await openMpzRanged(async (offset, length) => {
      read += length;
      return bytes.subarray(offset, offset + length);
    });
    const slots = sourceLayout(onnxByteLayout(original)).slots;
    const dedup = mpz.index.tensors.find((t) => t.encoding.kind === 'dedup')!;
    for (const name of [slots[3]!.name, dedup.name]) {
      const slot = slots.find((s) => s.name === name)!;
      const t = await mpz.readTensor(name);
      expect(Buffer.compare(Buffer.from(t.data), Buffer.from(original.subarray(slot.offset, slot.offset + slot.length)))).toBe(0);
    }
    expect(read).toBeLessThan(bytes.length / 4);
    await expect(mpz.readTensor('nope')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    const truncated = bytes.subarray(0, bytes.length - 100);
    await expect(openMpzRanged(async (offset, length) => truncated.subarray(offset, offset + length))).rejects.toMatchObject({
      code: 'E_TRUNCATED',
    });
  });
});

describe('.mpz on an already quantized / clustered / pruned ONNX model', () => {
  it('stores indices with codebooks, picks a smaller pipeline than raw, and onnxruntime outputs are identical', async () => {
    const { bytes: original, wq, clustered, pruned } = quantizedModel();
    const { bytes, report } = packModel(onnxInput(original));
    const byName = new Map(report.tensors.map((t) => [t.name, t]));
    expect(byName.get('Wq')!.pipeline).toMatch(/^codebook\(\d+\)\+/);
    // within 2% (+ codebook) of the order-0 entropy of the int8 values
    const counts = new Map<number, number>();
    for (const v of wq) counts.set(v, (counts.get(v) ?? 0) + 1);
    let bits = 0;
    for (const c of counts.values()) bits -= c * Math.log2(c / wq.length);
    expect(byName.get('Wq')!.storedBytes).toBeLessThan((bits / 8) * 1.02 + counts.size + 64);
    expect(byName.get('C')!.pipeline).toMatch(/^codebook\(16\)\+/);
    expect(byName.get('C')!.storedBytes).toBeLessThan(clustered.byteLength / 4);
    expect(byName.get('P')!.storedBytes).toBeLessThan(pruned.byteLength * 0.6);
    expect(byName.get('P_copy')!.pipeline).toBe('dedup');
    const back = unpackModel(bytes).files[0]!.bytes;
    expect(Buffer.compare(Buffer.from(back), Buffer.from(original))).toBe(0);
    expect(readTensor(bytes, 'C').data).toEqual(bytesOf(clustered));

    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)),
      [1, 64],
    );
    const run = async (model: Uint8Array) => (await ort.InferenceSession.create(model)).run({ X: x });
    const [a, b] = [await run(original), await run(back)];
    expect(Array.from(b.Y!.data as Float32Array)).toEqual(Array.from(a.Y!.data as Float32Array));
    expect(Array.from(b.Y2!.data as Float32Array)).toEqual(Array.from(a.Y2!.data as Float32Array));
  });

  it('codebooks restore -0, NaN payloads, infinities and subnormals bit-exactly', () => {
    const special = new Uint32Array([0x80000000, 0x7fc00001, 0xffc12345, 0x7f800000, 0xff800000, 0x00000001, 0x807fffff, 0]);
    const values = Uint32Array.from({ length: 4096 }, (_, i) => special[(i * 7 + (i >> 5)) % special.length]!);
    const data = new Uint8Array(values.buffer);
    const file = makeSafetensors([{ name: 'odd', dtype: 'F32', shape: [4096], data }]);
    const { bytes, report } = packModel({ format: 'safetensors', files: [{ name: '', bytes: file }] }, { coders: ['huffman', 'cabac'] });
    expect(report.tensors[0]!.pipeline).toMatch(/^codebook\(8\)/);
    expect(readTensor(bytes, 'odd').data).toEqual(data);
    expect(unpackModel(bytes).files[0]!.bytes).toEqual(file);
  });
});

describe('.mpz on safetensors and TF.js', () => {
  it('safetensors: header verbatim, payloads coded, byte-identical', () => {
    const rand = rng(3);
    const f32 = Float32Array.from({ length: 3000 }, () => (rand() - 0.5) * 0.3);
    const i8 = Int8Array.from({ length: 5000 }, () => Math.round((rand() - 0.5) * 20));
    const f16 = new Uint16Array(2000).map(() => 0x3c00 + Math.floor(rand() * 512));
    const file = makeSafetensors(
      [
        { name: 'w', dtype: 'F32', shape: [30, 100], data: bytesOf(f32) },
        { name: 'q', dtype: 'I8', shape: [5000], data: bytesOf(i8) },
        { name: 'h', dtype: 'F16', shape: [2000], data: new Uint8Array(f16.buffer) },
      ],
      { note: 'test' },
    );
    const { bytes, report } = packModel({ format: 'safetensors', files: [{ name: '', bytes: file }] });
    expect(report.format).toBe('safetensors');
    expect(report.tensors.map((t) => t.dtype)).toEqual(['float32', 'int8', 'float16']);
    expect(bytes.length).toBeLessThan(file.length);
    expect(unpackModel(bytes).files[0]!.bytes).toEqual(file);
    expect(readTensor(bytes, 'q').data).toEqual(bytesOf(i8));
  });

  it('TF.js: model.json and every shard come back byte-identical, weights spanning shards included', async () => {
    const rand = rng(5);
    const w1 = Float32Array.from({ length: 1500 }, () => (rand() - 0.5) * 0.3);
    const w2 = Uint8Array.from({ length: 3000 }, () => Math.floor(rand() * 16) * 16);
    const files = makeTfjs(
      [
        { name: 'dense/kernel', dtype: 'float32', shape: [30, 50], data: bytesOf(w1) },
        { name: 'dense/q', dtype: 'float32', shape: [3000], data: w2, quantization: { dtype: 'uint8', min: -1, scale: 0.01 } },
      ],
      3,
    );
    const { bytes, report } = packModel({ format: 'tfjs', files });
    expect(report.tensors.map((t) => t.name)).toEqual(['dense/kernel', 'dense/q']);
    const back = unpackModel(bytes);
    expect(back.files.map((f) => f.name)).toEqual(files.map((f) => f.name));
    back.files.forEach((f, i) => expect(f.bytes).toEqual(files[i]!.bytes));
    const streamed = await decodeMpzFiles(pieceStream(bytes, 2, 50));
    streamed.files.forEach((f, i) => expect(f.bytes).toEqual(files[i]!.bytes));
    await expect(decodeMpz(bytes)).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
  });

  it('unparseable input falls back to the generic coder and still round-trips', () => {
    const junk = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31) & 0xff);
    junk[0] = 0xff; // not a valid protobuf key sequence for long
    const { bytes, report } = packModel(onnxInput(junk));
    expect(report.fallback).toMatch(/could not split/);
    expect(unpackModel(bytes).files[0]!.bytes).toEqual(junk);
  });
});

describe('browser decoder', () => {
  it('decodeMpz gives the same bytes from a Uint8Array, an ArrayBuffer and a stream', async () => {
    const original = readBytes(REAL_FIXTURES[0]!);
    const { bytes } = packModel(onnxInput(original), { verify: false });
    const a = await decodeMpz(bytes);
    const b = await decodeMpz(bytes.slice().buffer);
    const c = await decodeMpz(pieceStream(bytes, 9, 4096));
    for (const x of [a, b, c]) expect(Buffer.compare(Buffer.from(x), Buffer.from(original))).toBe(0);
  });
});

describe('every coder round-trips inside the container', () => {
  const rand = rng(13);
  const centers = [-0.5, -0.125, 0.25, 1.5, 3];
  const pruned = Float32Array.from({ length: 8000 }, () => (rand() < 0.6 ? 0 : centers[Math.floor(rand() * 5)]!));
  const file = makeSafetensors([
    { name: 'pruned', dtype: 'F32', shape: [80, 100], data: bytesOf(pruned) },
    { name: 'half', dtype: 'F16', shape: [1000], data: Uint8Array.from({ length: 2000 }, (_, i) => (i % 2 ? 0x3c : (i * 37) & 0xff)) },
    { name: 'brain', dtype: 'BF16', shape: [1000], data: Uint8Array.from({ length: 2000 }, (_, i) => (i % 2 ? 0x3f : (i * 91) & 0xff)) },
  ]);
  for (const coder of ['raw', 'bytes', 'floatplanes-f32', 'signlz-f32', 'huffman', 'cabac', 'sparse+huffman', 'sparse+cabac']) {
    it(coder, async () => {
      const { bytes, report } = packModel(
        { format: 'safetensors', files: [{ name: '', bytes: file }] },
        { coders: [coder, 'floatplanes-f16', 'floatplanes-bf16'], chunkBytes: 16384, genericFloatLimit: 1 << 20 },
      );
      expect(report.tensors[0]!.pipeline.endsWith(coder)).toBe(true);
      for (const t of report.tensors.slice(1)) expect(['floatplanes-f16', 'floatplanes-bf16', 'bytes']).toContain(t.pipeline);
      expect(unpackModel(bytes).files[0]!.bytes).toEqual(file);
      expect((await unpackStream(pieceStream(bytes, 4, 999))).files[0]!.bytes).toEqual(file);
      expect(readTensor(bytes, 'pruned').data).toEqual(bytesOf(pruned));
    });
  }
});

describe('4-bit quantized weights', () => {
  /** An ONNX model holding one int4/uint4 initializer of `n` elements (packed, low nibble first). */
  function model4bit(dataType: number, packed: Uint8Array<ArrayBuffer>, dims: number[]): Uint8Array {
    const init: MessageInitShape<typeof ModelProtoSchema> = {
      irVersion: 10n,
      opsetImport: [{ domain: '', version: 21n }],
      graph: { name: 'g', initializer: [tensorProto('w4', dataType, dims, packed)] },
    };
    return toBinary(ModelProtoSchema, create(ModelProtoSchema, init));
  }
  const rand = rng(21);
  const n = 33 * 65; // odd: the last byte has a padding nibble
  const levels = Int8Array.from({ length: n }, () => Math.max(-8, Math.min(7, Math.round((rand() + rand() - 1) * 6))));
  const packed = new Uint8Array((n + 1) >> 1);
  levels.forEach((v, i) => (packed[i >> 1]! |= (v & 15) << ((i & 1) * 4)));

  it('int4 with an odd count: nibble codebook, byte-identical, readTensor exact', () => {
    const original = model4bit(22, packed, [33, 65]);
    const { bytes, report } = packModel(onnxInput(original), {
      coders: ['huffman', 'cabac', 'sparse+huffman', 'sparse+cabac'],
      chunkBytes: 256,
    });
    const t = report.tensors.find((x) => x.name === 'w4')!;
    expect(t.dtype).toBe('int4');
    expect(t.pipeline).toMatch(/^codebook\((1[0-6]|[1-9])\)\+/);
    const counts = new Map<number, number>();
    for (const v of levels) counts.set(v, (counts.get(v) ?? 0) + 1);
    let bits = 0;
    for (const c of counts.values()) bits -= c * Math.log2(c / n);
    // 5 chunks of 512 elements (256 bytes), each with its own code table and CRC
    expect(t.storedBytes).toBeLessThan((bits / 8) * 1.03 + 5 * 30);
    expect(t.storedBytes).toBeLessThan(packed.length);
    expect(unpackModel(bytes).files[0]!.bytes).toEqual(original);
    expect(readTensor(bytes, 'w4').data).toEqual(packed);
  });

  it('a nonzero padding nibble rules the codebook out and still round-trips', () => {
    const odd = packed.slice();
    odd[odd.length - 1]! |= 0xa0;
    const original = model4bit(21, odd, [33, 65]);
    const { bytes, report } = packModel(onnxInput(original), { coders: ['huffman', 'cabac'] });
    expect(report.tensors.find((x) => x.name === 'w4')!.pipeline).toBe('raw');
    expect(unpackModel(bytes).files[0]!.bytes).toEqual(original);
  });
});
