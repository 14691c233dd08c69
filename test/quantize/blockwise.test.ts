import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProto_DataType as DT } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { packInt4 } from '../../src/core/tensor.js';
import { dequantizeMatMulNBits, quantizeBlocked, quantizeMatMulNBits } from '../../src/quantize/blockwise.js';
import { errorStats, intRange } from '../../src/quantize/linear.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5;
}

const raw = (a: Float32Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const tensorType = (elemType: DT) => ({ value: { case: 'tensorType', value: { elemType } } });
const attrInt = (name: string, i: number) => ({ name, type: 2, i: BigInt(i) });

/** Y = A @ B through MatMulNBits, next to Y' = A @ dequant(B) through a plain MatMul. */
async function runNBits(
  a: Float32Array,
  m: number,
  w: ReturnType<typeof quantizeMatMulNBits>,
): Promise<{ nbits: Float32Array; ref: Float32Array }> {
  const kBlocks = Math.ceil(w.k / w.blockSize);
  const deq = dequantizeMatMulNBits(w);
  const inits = [
    { name: 'B', dataType: DT.UINT8, dims: [BigInt(w.n), BigInt(kBlocks), BigInt(w.blockSize / 2)], rawData: w.packed },
    { name: 'S', dataType: DT.FLOAT, dims: [BigInt(w.n * kBlocks)], rawData: raw(w.scales) },
    { name: 'D', dataType: DT.FLOAT, dims: [BigInt(w.k), BigInt(w.n)], rawData: raw(deq) },
  ];
  const nbInputs = ['A', 'B', 'S'];
  if (w.zeroPoints) {
    inits.push({ name: 'Z', dataType: DT.UINT8, dims: [BigInt(w.zeroPoints.length)], rawData: w.zeroPoints });
    nbInputs.push('Z');
  }
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [
      { domain: '', version: 17n },
      { domain: 'com.microsoft', version: 1n },
    ],
    graph: {
      name: 'g',
      node: [
        {
          opType: 'MatMulNBits',
          domain: 'com.microsoft',
          input: nbInputs,
          output: ['Y'],
          attribute: [attrInt('K', w.k), attrInt('N', w.n), attrInt('bits', 4), attrInt('block_size', w.blockSize)],
        },
        { opType: 'MatMul', input: ['A', 'D'], output: ['R'] },
      ],
      initializer: inits,
      input: [{ name: 'A', type: tensorType(DT.FLOAT) }],
      output: [
        { name: 'Y', type: tensorType(DT.FLOAT) },
        { name: 'R', type: tensorType(DT.FLOAT) },
      ],
    },
  } as never);
  const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, model));
  const out = await session.run({ A: new ort.Tensor('float32', a, [m, w.k]) });
  return { nbits: out.Y!.data as Float32Array, ref: out.R!.data as Float32Array };
}

describe('MatMulNBits 4-bit blocks', () => {
  for (const [k, n, blockSize, symmetric] of [
    [64, 24, 32, true],
    [100, 17, 16, false],
    [256, 8, 128, true],
    [40, 5, 32, false],
  ] as const) {
    it(`k=${k} n=${n} block=${blockSize} ${symmetric ? 'symmetric' : 'asymmetric'}: onnxruntime computes with our dequantized weights`, async () => {
      const rand = seeded(k * 31 + n);
      const b = Float32Array.from({ length: k * n }, () => rand() * 2);
      const w = quantizeMatMulNBits(b, k, n, blockSize, symmetric);
      expect(w.packed.length).toBe(n * Math.ceil(k / blockSize) * (blockSize / 2));
      // 4 bits per weight plus one float scale per block: the size budget
      const bytes = w.packed.length + w.scales.byteLength + (w.zeroPoints?.length ?? 0);
      if (k % blockSize === 0 && blockSize >= 32) expect(bytes / (k * n * 4)).toBeLessThanOrEqual(0.16);
      const err = errorStats(b, dequantizeMatMulNBits(w));
      expect(err.snrDb).toBeGreaterThan(17); // ~6 dB per bit, less the block overhead
      const m = 3;
      const a = Float32Array.from({ length: m * k }, () => rand());
      const { nbits, ref } = await runNBits(a, m, w);
      for (let i = 0; i < nbits.length; i++) expect(Math.abs(nbits[i]! - ref[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(ref[i]!)));
    });
  }

  it('symmetric blocks reproduce the largest-magnitude value exactly', () => {
    const b = Float32Array.from({ length: 32 }, (_, i) => (i === 5 ? -3.5 : Math.sin(i)));
    const w = quantizeMatMulNBits(b, 32, 1, 32, true);
    expect(dequantizeMatMulNBits(w)[5]).toBe(-3.5);
  });
});

describe('blocked DequantizeLinear (opset 21)', () => {
  it('int4 blocks along axis 0 agree with onnxruntime', async () => {
    const shape = [64, 6];
    const rand = seeded(3);
    const x = Float32Array.from({ length: 64 * 6 }, () => rand());
    const range = intRange(4, true, false);
    const r = quantizeBlocked(x, shape, 0, 32, range, false);
    expect(r.scaleShape).toEqual([2, 6]);
    const model = create(ModelProtoSchema, {
      irVersion: 10n,
      opsetImport: [{ domain: '', version: 21n }],
      graph: {
        name: 'g',
        node: [
          { opType: 'DequantizeLinear', input: ['q', 's', 'z'], output: ['y'], attribute: [attrInt('axis', 0), attrInt('block_size', 32)] },
        ],
        initializer: [
          { name: 'q', dataType: DT.INT4, dims: shape.map(BigInt), rawData: packInt4(r.q) },
          { name: 's', dataType: DT.FLOAT, dims: r.scaleShape.map(BigInt), rawData: raw(r.scales) },
          { name: 'z', dataType: DT.INT4, dims: r.scaleShape.map(BigInt), rawData: packInt4(r.zeroPoints) },
        ],
        output: [{ name: 'y', type: tensorType(DT.FLOAT) }],
      },
    } as never);
    const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, model));
    const y = (await session.run({})).y!.data as Float32Array;
    for (let i = 0; i < x.length; i++) {
      const blk = Math.floor(Math.floor(i / 6) / 32) * 6 + (i % 6);
      expect(y[i]).toBe(Math.fround((r.q[i]! - r.zeroPoints[blk]!) * r.scales[blk]!));
    }
    expect(errorStats(x, y).snrDb).toBeGreaterThan(17);
  });
});
