import { create } from '@bufbuild/protobuf';
import { TrainingInfoProtoSchema } from 'onnx-buf';
import type { ModelProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { isModelpressError } from '../../src/core/errors.js';
import { readOnnx, writeOnnx } from '../../src/formats/onnx/index.js';
import { compactNames } from '../../src/graph/compact-names.js';
import { quantizeModel } from '../../src/quantize/index.js';
import { cosine, FIXTURES, fixtureBytes, runModel } from '../../support/quantize-fixtures.js';

const cls = FIXTURES.cls;
const silero = FIXTURES.silero;
const count = (m: ModelProto, op: string) => m.graph!.node.filter((n) => n.opType === op).length;

describe('BatchNormalization folding, Constant hoisting and short names (mobile cls)', () => {
  const original = readOnnx(fixtureBytes(cls), { file: cls.path }).proto;
  const originalBytes = fixtureBytes(cls);
  let reference: Record<string, Float32Array>;
  const ref = async () => (reference ??= await runModel(writeOnnx(original), cls.feeds()));
  const key = () => Object.keys(reference)[0]!;

  it('per-channel int8 folds every one of the 35 BatchNormalizations (Constant-held weights included) and stays faithful', async () => {
    expect(count(original, 'BatchNormalization')).toBe(35);
    const r = await quantizeModel(original, 'int8', { perChannel: true, symmetric: true });
    expect(count(r.model, 'BatchNormalization')).toBe(0);
    expect(r.notes.join('\n')).toMatch(/35 BatchNormalization node\(s\) folded/);
    const out = await runModel(writeOnnx(r.model), cls.feeds());
    expect(cosine((await ref())[key()]!, out[key()]!)).toBeGreaterThan(0.999);
  });

  it('per-tensor int8 keeps BatchNormalization unless asked (one scale cannot cover channels the fold rescaled)', async () => {
    expect(count((await quantizeModel(original, 'int8', {})).model, 'BatchNormalization')).toBe(35);
    expect(count((await quantizeModel(original, 'int8', { foldBatchNorm: true })).model, 'BatchNormalization')).toBe(0);
    expect(count((await quantizeModel(original, 'int8', { perChannel: true, foldBatchNorm: false })).model, 'BatchNormalization')).toBe(35);
  });

  it('leaves no tensor-valued Constant node in the main graph', async () => {
    expect(count(original, 'Constant')).toBe(250);
    const r = await quantizeModel(original, 'int8', {});
    expect(count(r.model, 'Constant')).toBe(0);
    expect(r.model.graph!.initializer.length).toBeGreaterThan(200);
  });

  it('--fold-bn --compact-names writes an int8 file at most 0.27x the float32 file, computing exactly what the long-named one does', async () => {
    const long = writeOnnx((await quantizeModel(original, 'int8', { foldBatchNorm: true })).model);
    const r = await quantizeModel(original, 'int8', { foldBatchNorm: true, compactNames: true });
    const short = writeOnnx(r.model);
    expect(short.length / originalBytes.length).toBeLessThanOrEqual(0.27);
    expect(short.length).toBeLessThan(long.length);
    // graph input and output keep their names; everything else is short
    expect(r.model.graph!.input.map((v) => v.name)).toEqual(original.graph!.input.map((v) => v.name));
    expect(r.model.graph!.output.map((v) => v.name)).toEqual(original.graph!.output.map((v) => v.name));
    expect(
      r.model.graph!.node.every(
        (n) => n.name === '' && n.output.every((o) => o.length <= 3 || r.model.graph!.output.some((v) => v.name === o)),
      ),
    ).toBe(true);
    // the report keeps the original tensor names
    expect(r.tensors.some((t) => t.name === 'conv2d_44.w_0')).toBe(true);
    const a = await runModel(long, cls.feeds());
    const b = await runModel(short, cls.feeds());
    expect(Array.from(b[key()] ?? [])).toEqual(Array.from(a[Object.keys(a)[0]!]!));
    // per-tensor scales over folded weights cost fidelity (0.986 measured here; 0.9995 per-channel)
    expect(cosine((await ref())[key()]!, b[key()]!)).toBeGreaterThan(0.98);
  });
});

describe('short names across subgraphs (silero_vad: If branches read outer tensors)', () => {
  it('runs with the same outputs as before renaming', async () => {
    const m = readOnnx(fixtureBytes(silero), { file: silero.path }).proto;
    const before = await runModel(writeOnnx(m), silero.feeds());
    const c = compactNames(m);
    expect(c.tensors).toBeGreaterThan(100);
    const after = await runModel(writeOnnx(m), silero.feeds());
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    for (const k of Object.keys(before)) expect(Array.from(after[k]!)).toEqual(Array.from(before[k]!));
  });

  it('refuses a model with training_info, naming the file', () => {
    const m = readOnnx(fixtureBytes(silero)).proto;
    m.trainingInfo.push(create(TrainingInfoProtoSchema, {}));
    try {
      compactNames(m, 'model.onnx');
      expect.unreachable();
    } catch (e) {
      expect(isModelpressError(e) && e.code === 'E_UNSUPPORTED' && e.file === 'model.onnx').toBe(true);
    }
  });
});

describe('Constant nodes stored as initializers', () => {
  it('except one that is a graph output, which stays a node', async () => {
    const m = readOnnx(fixtureBytes(cls)).proto;
    const g = m.graph!;
    const c = g.node.find((n) => n.opType === 'Constant' && n.attribute[0]!.t!.dims.length === 1)!;
    g.output.push({ ...g.output[0]!, name: c.output[0]!, type: undefined });
    const r = await quantizeModel(m, 'int8', {});
    expect(r.model.graph!.node.filter((n) => n.opType === 'Constant').map((n) => n.output[0])).toEqual([c.output[0]]);
    expect(r.model.graph!.initializer.find((t) => t.name === c.output[0])).toBeUndefined();
    expect(r.notes.join('\n')).toMatch(/Constant node\(s\) stored as initializers/);
  });
});
