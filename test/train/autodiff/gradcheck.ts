/**
 * Finite-difference gradient checker run through onnxruntime-node: build a
 * tiny graph around an op, take loss = sum(y * R) with a fixed random R,
 * compare the training graph's analytic gradients with central differences.
 */
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, makeModel } from '../../../src/graph/builder.js';
import { cloneModel } from '../../../src/graph/model-edit.js';
import type { GraphDType } from '../../../src/graph/tensor-proto.js';
import { buildGradientGraph, initializersToInputs } from '../../../src/train/autodiff/gradient.js';
import type { RuleRegistry } from '../../../src/train/autodiff/registry.js';
import { lowerModel, type LowerOptions } from '../../../src/train/autodiff/lower.js';
import { mulberry32 } from '../../../src/core/random.js';

export type FloatDType = 'float32' | 'float64';

/** Deterministic PRNG for test data: the library's mulberry32. */
export const rng = mulberry32;

export function randn(n: number, rand: () => number, scale = 1): number[] {
  return Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

export interface CheckParam {
  shape: number[];
  /** Values (default uniform in [-1, 1) from the seed). */
  values?: number[];
}

export interface GradCheckOptions {
  /** Tensors to differentiate: initializers the forward reads. */
  params: Record<string, CheckParam>;
  /** Builds the forward graph; return the output to check. Params are available by name. */
  forward: (b: GraphBuilder, dtype: FloatDType) => string;
  dtype?: FloatDType;
  /** Central-difference step (default 1e-5 for float64, 1e-2 for float32). */
  eps?: number;
  /** Tolerances: |a - n| <= atol + rtol * max(|a|, |n|). Defaults 1e-6/1e-5 (float64), 2e-2/2e-2 (float32). */
  atol?: number;
  rtol?: number;
  /** Elements checked per param (default 16, random positions). */
  samples?: number;
  seed?: number;
  opset?: number;
  /** Rule registry (default: the built-in rules). */
  registry?: RuleRegistry;
  /** Lower composites (BatchNormalization, LayerNormalization, Dropout) first, as buildTrainingGraph does. */
  lower?: Partial<LowerOptions>;
  /** Extra feeds (non-param graph inputs) declared by `forward`. */
  feeds?: Record<string, ort.Tensor>;
}

export interface GradCheckResult {
  checked: number;
  maxError: number;
  analytic: Map<string, Float64Array>;
  trainingModel: ModelProto;
}

function tensorOf(dtype: FloatDType, values: ArrayLike<number>, shape: number[]): ort.Tensor {
  return dtype === 'float64'
    ? new ort.Tensor('float64', Float64Array.from(values), shape)
    : new ort.Tensor('float32', Float32Array.from(values), shape);
}

async function session(model: ModelProto): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(toBinary(ModelProtoSchema, model), {
    graphOptimizationLevel: 'disabled',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
}

/** Runs the check; throws (with a table of mismatches) if any sampled element is off. */
export async function gradCheck(opts: GradCheckOptions): Promise<GradCheckResult> {
  const dtype = opts.dtype ?? 'float64';
  const rand = rng(opts.seed ?? 1);
  const eps = opts.eps ?? (dtype === 'float64' ? 1e-5 : 1e-2);
  const atol = opts.atol ?? (dtype === 'float64' ? 1e-6 : 2e-2);
  const rtol = opts.rtol ?? (dtype === 'float64' ? 1e-5 : 2e-2);
  const values = new Map<string, Float64Array>();
  const b = new GraphBuilder(undefined, 'check');
  for (const [name, p] of Object.entries(opts.params)) {
    const n = p.shape.reduce((x, y) => x * y, 1);
    const v = Float64Array.from(p.values ?? randn(n, rand));
    values.set(name, v);
    b.names.reserve(name);
    b.graph.initializer.push((await import('../../../src/graph/tensor-proto.js')).makeTensorProto(name, dtype as GraphDType, p.shape, v));
  }
  const y = opts.forward(b, dtype);
  b.output(y);
  let forward = makeModel(b.graph, { opset: opts.opset ?? 17 });
  if (opts.lower) {
    forward = lowerModel(forward, opts.lower).model;
    forward.graph!.output.splice(1);
  }
  // Run the forward once to learn y's shape, then add the projection.
  const fwdModel = cloneModel(forward);
  initializersToInputs(fwdModel.graph!, [...values.keys()]);
  const feedsOf = (vals: Map<string, Float64Array>): Record<string, ort.Tensor> => {
    const f: Record<string, ort.Tensor> = { ...(opts.feeds ?? {}) };
    for (const [name, v] of vals) f[name] = tensorOf(dtype, v, opts.params[name]!.shape);
    return f;
  };
  const fs = await session(fwdModel);
  const yv = (await fs.run(feedsOf(values)))[y]!;
  const yShape = [...yv.dims];
  const yCount = yShape.reduce((a, c) => a * c, 1);
  const lb = new GraphBuilder(forward.graph!);
  const proj = lb.initializer('projection', dtype, yShape, randn(yCount, rand));
  const loss = lb.op('ReduceSum', [lb.op('Mul', [y, proj])], { keepdims: 0 }, 'check_loss');
  lb.output(loss);
  const { model: trainModel, gradients } = buildGradientGraph(forward, { loss, wrt: [...values.keys()] }, opts.registry);
  const lossModel = cloneModel(forward);
  initializersToInputs(lossModel.graph!, [...values.keys()]);
  const ts = await session(trainModel);
  const ls = await session(lossModel);
  const res = await ts.run(feedsOf(values));
  const analytic = new Map<string, Float64Array>();
  for (const [name, g] of gradients) analytic.set(name, Float64Array.from(res[g]!.data as Float64Array));
  const lossAt = async (vals: Map<string, Float64Array>): Promise<number> => Number((await ls.run(feedsOf(vals)))[loss]!.data[0]);
  const failures: string[] = [];
  let checked = 0,
    maxError = 0;
  for (const [name, v] of values) {
    const n = v.length;
    const a = analytic.get(name)!;
    if (a.length !== n) throw new Error(`gradient of ${name} has ${a.length} elements, param has ${n}`);
    const samples = Math.min(n, opts.samples ?? 16);
    const picks = samples === n ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: samples }, () => Math.floor(rand() * n));
    for (const i of picks) {
      const orig = v[i]!;
      v[i] = orig + eps;
      const up = await lossAt(values);
      v[i] = orig - eps;
      const down = await lossAt(values);
      v[i] = orig;
      const num = (up - down) / (2 * eps);
      const err = Math.abs(num - a[i]!);
      maxError = Math.max(maxError, err);
      checked++;
      if (err > atol + rtol * Math.max(Math.abs(num), Math.abs(a[i]!))) failures.push(`${name}[${i}]: analytic ${a[i]} numeric ${num}`);
    }
  }
  await fs.release();
  await ts.release();
  await ls.release();
  if (failures.length > 0) throw new Error(`gradient check failed (${failures.length}/${checked}):\n${failures.slice(0, 12).join('\n')}`);
  return { checked, maxError, analytic, trainingModel: trainModel };
}
