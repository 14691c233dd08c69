import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProto_DataType as DT, type TensorProto } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { packInt4, unpackInt4 } from '../../src/core/tensor.js';
import {
  computeQuantParams,
  dequantizePerChannel,
  dequantizePerTensor,
  errorStats,
  intRange,
  quantizePerChannel,
  quantizePerTensor,
} from '../../src/quantize/linear.js';

/** A one-node QuantizeLinear model; scale/zero point as initializers, `axis` optional. */
function quantizeModel(
  qtype: DT,
  scale: Float32Array,
  zp: Uint8Array,
  zpShape: number[],
  axis: number | undefined,
  opset: number,
): Uint8Array {
  const init = (name: string, dataType: DT, dims: number[], raw: Uint8Array): TensorProto =>
    ({ name, dataType, dims: dims.map(BigInt), rawData: raw }) as unknown as TensorProto;
  const model = create(ModelProtoSchema, {
    irVersion: 10n,
    opsetImport: [{ domain: '', version: BigInt(opset) }],
    graph: {
      name: 'q',
      node: [
        {
          opType: 'QuantizeLinear',
          input: ['x', 's', 'z'],
          output: ['q'],
          attribute: axis === undefined ? [] : [{ name: 'axis', type: 2, i: BigInt(axis) }],
        },
        {
          opType: 'DequantizeLinear',
          input: ['q', 's', 'z'],
          output: ['y'],
          attribute: axis === undefined ? [] : [{ name: 'axis', type: 2, i: BigInt(axis) }],
        },
        // onnxruntime-node cannot hand int4 tensors to JS, so the codes leave the graph as int32
        { opType: 'Cast', input: ['q'], output: ['q8'], attribute: [{ name: 'to', type: 2, i: BigInt(DT.INT32) }] },
      ],
      initializer: [
        init('s', DT.FLOAT, scale.length === 1 && axis === undefined ? [] : [scale.length], new Uint8Array(scale.buffer)),
        init('z', qtype, zpShape, zp),
      ],
      input: [{ name: 'x', type: { value: { case: 'tensorType', value: { elemType: DT.FLOAT } } } }],
      output: [
        { name: 'q8', type: { value: { case: 'tensorType', value: { elemType: DT.INT32 } } } },
        { name: 'y', type: { value: { case: 'tensorType', value: { elemType: DT.FLOAT } } } },
      ],
    },
  } as never); // input shape left unranked: ORT accepts any shape
  return toBinary(ModelProtoSchema, model);
}

async function runOrt(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<{ q: ort.Tensor; y: Float32Array }> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ x: new ort.Tensor('float32', x, shape) });
  return { q: out.q8!, y: out.y!.data as Float32Array };
}

/** Index and values of the first difference (compact failures; diffs of big arrays are unreadable). */
function mismatch(a: ArrayLike<number>, b: ArrayLike<number>): string {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `at ${i}: ${a[i]} vs ${b[i]}`;
  return 'none';
}

/** Values that hit ties (k + 0.5) * scale, saturation and zero exactly. */
function trickyValues(scale: number, n: number, seed: number): Float32Array {
  let s = seed;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.3) x[i] = Math.fround((Math.floor(rand() * 300) - 150 + 0.5) * scale);
    else if (r < 0.35) x[i] = 0;
    else if (r < 0.4) x[i] = (rand() - 0.5) * 1e6;
    else x[i] = (rand() - 0.5) * 300 * scale;
  }
  return x;
}

describe('linear quantization agrees with onnxruntime', () => {
  it('int8 and uint8 per tensor: round half to even and saturation', async () => {
    for (const [signed, qtype] of [
      [true, DT.INT8],
      [false, DT.UINT8],
    ] as const) {
      const scale = Math.fround(0.0371);
      const zp = signed ? -3 : 131;
      const x = trickyValues(scale, 4000, 7);
      const ours = quantizePerTensor(x, { scale, zeroPoint: zp }, intRange(8, signed, false));
      const zpBytes = signed ? new Uint8Array(new Int8Array([zp]).buffer) : new Uint8Array([zp]);
      const ref = await runOrt(quantizeModel(qtype, new Float32Array([scale]), zpBytes, [], undefined, 13), x, [x.length]);
      expect(mismatch(ours, ref.q.data as Int32Array)).toBe('none');
      expect(mismatch(dequantizePerTensor(ours, { scale, zeroPoint: zp }), ref.y)).toBe('none');
    }
  });

  it('int8 per channel along axis 0 and 1', async () => {
    const shape = [6, 5, 3];
    for (const axis of [0, 1]) {
      const x = trickyValues(0.05, 90, 11 + axis);
      const range = intRange(8, true, true);
      const pc = quantizePerChannel(x, shape, axis, range, true);
      const zp = new Uint8Array(pc.zeroPoints.length);
      const ref = await runOrt(quantizeModel(DT.INT8, pc.scales, zp, [pc.zeroPoints.length], axis, 13), x, shape);
      expect(mismatch(pc.q, ref.q.data as Int32Array)).toBe('none');
      expect(mismatch(dequantizePerChannel(pc.q, shape, axis, pc.scales, pc.zeroPoints), ref.y)).toBe('none');
    }
  });

  it('int4 (opset 21): values, saturation and nibble packing', async () => {
    const scale = Math.fround(0.25);
    const x = trickyValues(scale, 257, 5);
    const range = intRange(4, true, false);
    const ours = quantizePerTensor(x, { scale, zeroPoint: 0 }, range);
    const ref = await runOrt(quantizeModel(DT.INT4, new Float32Array([scale]), new Uint8Array([0]), [], undefined, 21), x, [x.length]);
    expect(mismatch(ours, ref.q.data as Int32Array)).toBe('none');
    expect(mismatch(unpackInt4(packInt4(ours), ours.length, true), ours)).toBe('none');
    expect(mismatch(dequantizePerTensor(ours, { scale, zeroPoint: 0 }), ref.y)).toBe('none');
  });
});

describe('quantization parameters', () => {
  it('widens the range to include zero and keeps zero exact', () => {
    const p = computeQuantParams(0.5, 2, intRange(8, false, false), false);
    expect(p.zeroPoint).toBe(0);
    expect(p.scale).toBeCloseTo(2 / 255, 9);
    const q = computeQuantParams(-1, 3, intRange(8, false, false), false);
    expect(q.zeroPoint).toBe(64); // round(0 - (-1)/(4/255)) = round(63.75)
    const zero = quantizePerTensor(new Float32Array([0]), q, intRange(8, false, false));
    expect(dequantizePerTensor(zero, q)[0]).toBe(0);
  });

  it('symmetric signed ranges drop -128 and centre on zero', () => {
    expect(intRange(8, true, true)).toEqual({ qmin: -127, qmax: 127 });
    expect(intRange(8, true, false)).toEqual({ qmin: -128, qmax: 127 });
    expect(intRange(8, false, false, true)).toEqual({ qmin: 0, qmax: 127 });
    expect(intRange(4, true, true)).toEqual({ qmin: -7, qmax: 7 });
    const p = computeQuantParams(-0.2, 1.27, intRange(8, true, true), true);
    expect(p.zeroPoint).toBe(0);
    expect(p.scale).toBe(Math.fround(2.54 / 254));
  });

  it('an all-zero tensor quantizes exactly', () => {
    const p = computeQuantParams(0, 0, intRange(8, true, true), true);
    const x = new Float32Array(10);
    expect(dequantizePerTensor(quantizePerTensor(x, p, intRange(8, true, true)), p)).toEqual(x);
  });

  it('error stats: exact reconstruction has infinite SNR, not NaN', () => {
    const x = new Float32Array([1, -2, 3]);
    expect(errorStats(x, x)).toEqual({ mse: 0, snrDb: Infinity, maxAbs: 0 });
    const e = errorStats(x, new Float32Array([1, -2, 2]));
    expect(e.maxAbs).toBe(1);
    expect(e.snrDb).toBeCloseTo(10 * Math.log10(14 / 1), 9);
  });
});
