import type { ModelProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { readTensorProtoNumbers } from '../../src/graph/tensor-proto.js';
import { compressibleLayers } from '../../src/compress/layers.js';
import { quantizationAwareTraining } from '../../src/compress/qat.js';
import { int8WeightOnlyFakeQuant, weightFakeQuant } from '../../src/compress/weight-fake-quant.js';
import { isModelpressError } from '../../src/core/errors.js';
import { dequantizeCodes, ttqCodes } from '../../src/quantize/ternary.js';
import { cloneModel, getInitializerValues, setInitializerValues } from '../../src/graph/model-edit.js';
import { GraphBuilder, makeModel } from '../../src/graph/index.js';
import { fashion, openRunner, runInOrt, trainedZoo } from '../compress/helpers.js';

/** Values of a weight defined by DequantizeLinear (per axis 0, int8, zero point absent or given). */
function dequantized(model: ModelProto, weight: string): Float32Array {
  const g = model.graph!;
  const dq = g.node.find((n) => n.opType === 'DequantizeLinear' && n.output[0] === weight)!;
  const init = (name: string) => g.initializer.find((t) => t.name === name)!;
  const q = readTensorProtoNumbers(init(dq.input[0]!));
  const s = readTensorProtoNumbers(init(dq.input[1]!));
  const zp = dq.input[2] ? readTensorProtoNumbers(init(dq.input[2])) : s.map(() => 0);
  const dims = init(dq.input[0]!).dims.map(Number);
  const axis = Number(dq.attribute.find((a) => a.name === 'axis')?.i ?? 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const ch = (i: number) => Math.floor(i / inner) % dims[axis]!;
  return Float32Array.from(q, (v, i) => Math.fround((v - zp[ch(i)]!) * s[ch(i)]!));
}

describe('binary/ternary QAT', () => {
  for (const [scheme, ends] of [
    ['ternary', false],
    ['binary', true],
  ] as const) {
    it(`${scheme}${ends ? ' with first and last layers at 8 bits' : ''}: the exported model computes exactly with the weights QAT trained`, async () => {
      const model = await trainedZoo('lenet-5', 1, 2000);
      const { train } = fashion(2000, 100);
      const r = await quantizationAwareTraining({
        openRunner,
        model,
        train,
        scheme,
        epochs: 1,
        maxStepsPerEpoch: 10,
        ...(ends ? { keepEnds8Bit: true } : {}),
      });
      expect(r.fakeQuantized).toEqual(['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight']);
      const layers = compressibleLayers(r.floatModel);
      const shadow = getInitializerValues(
        r.floatModel,
        layers.map((l) => l.name),
      );
      const endNames = ends ? ['conv1.weight', 'fc2.weight'] : [];
      const fq = cloneModel(r.floatModel);
      const q = new Map(
        layers.map((l) => [
          l.name,
          (endNames.includes(l.name) ? int8WeightOnlyFakeQuant(l) : weightFakeQuant(scheme, l)!)(shadow.get(l.name)!),
        ]),
      );
      setInitializerValues(fq, q);
      for (const l of layers) {
        // a code times a scale per output channel: at most 2 (binary) or 3 (ternary) values per channel
        const channels = l.shape[l.role.channelAxis!]!;
        if (!endNames.includes(l.name)) expect(new Set(q.get(l.name)!).size).toBeLessThanOrEqual((scheme === 'binary' ? 2 : 3) * channels);
      }
      const ops = r.model.graph!.node.map((n) => n.opType);
      // binary: two BitShifts per weight; ternary: one Mod per weight
      if (scheme === 'binary') expect(ops.filter((o) => o === 'BitShift').length).toBe(2 * (4 - endNames.length));
      else expect(ops.filter((o) => o === 'Mod').length).toBe(4 - endNames.length);
      expect(ops.filter((o) => o === 'DequantizeLinear').length).toBe(endNames.length);
      for (const name of endNames) expect(Array.from(dequantized(r.model, name))).toEqual(Array.from(q.get(name)!));
      const a = await runInOrt(r.model, 16);
      const b = await runInOrt(fq, 16);
      // bit for bit where every weight is decoded from packed codes; int8 DequantizeLinear weights reach the
      // same values, but onnxruntime fuses DequantizeLinear into the Conv/Gemm kernels and sums in another order
      if (ends) for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 4);
      else expect(Array.from(a)).toEqual(Array.from(b));
    });
  }

  it('ttq: the two scales per channel are learned, and the export computes exactly with the codes of the shadow weights times them', async () => {
    const model = await trainedZoo('lenet-300-100', 1, 2000);
    const { train } = fashion(2000, 100);
    const r = await quantizationAwareTraining({
      openRunner,
      model,
      train,
      scheme: 'ttq',
      epochs: 1,
      maxStepsPerEpoch: 20,
      optimizer: { name: 'adam', lr: 1e-3 },
    });
    expect(r.fakeQuantized).toEqual(['fc1.weight', 'fc2.weight', 'fc3.weight']);
    const g = r.model.graph!;
    const init = (name: string) => Float32Array.from(readTensorProtoNumbers(g.initializer.find((t) => t.name === name)!));
    const layers = compressibleLayers(r.floatModel);
    const shadow = getInitializerValues(
      r.floatModel,
      layers.map((l) => l.name),
    );
    const decoded = new Map<string, Float32Array>();
    let moved = 0;
    for (const l of layers) {
      const axis = l.role.channelAxis!;
      const pos = init(`${l.name}_scale`);
      const neg = init(`${l.name}_neg_scale`);
      const w = shadow.get(l.name)!;
      const codes = ttqCodes(w, l.shape, axis);
      decoded.set(l.name, dequantizeCodes({ codes: codes.codes, scales: pos, negScales: neg, axis }, l.shape));
      // the learned scales moved away from TTQ's initialization on the same shadow weights
      for (let c = 0; c < pos.length; c++) moved += pos[c] !== codes.scales[c] || neg[c] !== codes.negScales![c] ? 1 : 0;
    }
    expect(moved).toBeGreaterThan(100);
    expect(g.node.filter((n) => n.opType === 'Where').length).toBe(3);
    const fq = cloneModel(r.floatModel);
    setInitializerValues(fq, decoded);
    expect(Array.from(await runInOrt(r.model, 16))).toEqual(Array.from(await runInOrt(fq, 16)));
  });

  it('ternary-absmean trains and exports like ternary', async () => {
    const model = await trainedZoo('lenet-300-100', 1, 2000);
    const { train } = fashion(500, 10);
    const r = await quantizationAwareTraining({ openRunner, model, train, scheme: 'ternary-absmean', epochs: 1, maxStepsPerEpoch: 5 });
    expect(r.model.graph!.node.filter((n) => n.opType === 'Mod').length).toBe(3);
    const layers = compressibleLayers(r.floatModel);
    const fq = cloneModel(r.floatModel);
    const shadow = getInitializerValues(
      r.floatModel,
      layers.map((l) => l.name),
    );
    setInitializerValues(fq, new Map(layers.map((l) => [l.name, weightFakeQuant('ternary-absmean', l)!(shadow.get(l.name)!)])));
    expect(Array.from(await runInOrt(r.model, 8))).toEqual(Array.from(await runInOrt(fq, 8)));
  });

  it('keeping the ends at 8 bits is refused for int8/int4; a model without weights is refused', async () => {
    const model = await trainedZoo('lenet-300-100', 1, 500);
    const { train } = fashion(200, 10);
    const e = await quantizationAwareTraining({ openRunner, model, train, scheme: 'int8', epochs: 1, keepEnds8Bit: true }).catch(
      (x: unknown) => x,
    );
    expect(isModelpressError(e) && e.code).toBe('E_ARG');
    const b = new GraphBuilder();
    b.input('x', 'float32', [1, 784]);
    b.node('Relu', ['x'], { outputs: ['y'] });
    b.output('y', 'float32');
    const e2 = await quantizationAwareTraining({ openRunner, model: makeModel(b.graph), train, scheme: 'ternary', epochs: 1 }).catch(
      (x: unknown) => x,
    );
    expect(isModelpressError(e2) && e2.code).toBe('E_UNSUPPORTED');
  });
});
