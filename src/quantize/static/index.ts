/**
 * Static quantization in onnxruntime's QDQ format (U8S8): int8 symmetric
 * weights (per-channel by default) behind DequantizeLinear, uint8 per-tensor
 * activations as QuantizeLinear -> DequantizeLinear pairs whose ranges come
 * from calibration data, int32 biases with scale = input scale x weight
 * scale. onnxruntime fuses DQ -> Conv/MatMul/Gemm -> Q into QLinearConv,
 * QLinearMatMul and QGemm at load time.
 *
 * Which tensors get Q/DQ: the activation inputs of the quantized ops
 * (Conv, MatMul, Gemm in the main graph) and their outputs. When an output
 * feeds exactly one Relu or Clip, the pair goes after that activation
 * instead, so the integer op's range already excludes what the activation
 * cuts off (onnxruntime then drops the Relu/Clip). Every other op (Softmax,
 * normalization, Resize, ...) reads dequantized floats and computes in float.
 */
import type { GraphProto, ModelProto, NodeProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { fromFloat32 } from '../../core/tensor.js';
import { cloneSharingBytes } from '../../formats/onnx/clone.js';
import { writeOnnx } from '../../formats/onnx/write.js';
import { NameGen } from '../../graph/names.js';
import type { RunnerFactory } from '../../runtime/runner.js';
import { computeQuantParams, intRange, type QuantParams } from '../linear.js';
import { defaultOpsetOf } from '../opset.js';
import {
  addInitializer,
  intTensor,
  makeNode,
  nodeSelected,
  quantizeWeight,
  replaceWithDequantize,
  skippedReport,
  weightReport,
  weightValues,
  type QuantizedWeight,
} from '../qdq-helpers.js';
import type { CalibrationFeed, QuantizeOptions, SchemeResult, TensorReport } from '../types.js';
import { allNames, findWeights, sharedRole, type WeightDef } from '../../graph/weights.js';
import { collectRanges, feedTensors, rangesOf } from './collect.js';
import { foldBatchNorms } from './fold-bn.js';
import { canUpgradeOpset, upgradeOpset } from '../opset-upgrade.js';
import { concatFloat32 } from '../../core/bytes.js';

/** Ops whose inputs and outputs get quantized (onnxruntime has integer kernels for them). */
export const STATIC_QUANTIZED_OPS: readonly string[] = ['Conv', 'MatMul', 'Gemm'];

export interface StaticQuantizeOptions extends QuantizeOptions {
  /** Opens a model for calibration runs (onnxruntime-node's createNodeRunner in Node). Required. */
  readonly openRunner?: RunnerFactory;
  /**
   * What to fold into the preceding Conv before quantizing: 'bn' inference
   * BatchNormalization; 'affine' also per-channel constant Mul/Add; 'none';
   * 'auto' (default) quantizes with 'bn' and with 'affine' and keeps the one
   * whose outputs on the calibration batches are closer to the float model's.
   */
  readonly fold?: 'auto' | 'bn' | 'affine' | 'none';
}

/**
 * Static QDQ quantization of `input` (not mutated), calibrated on
 * opts.calibration. Reads opts.calibration (required, >= 1 batch),
 * opts.openRunner (required), opts.calibMethod (default 'minmax'),
 * opts.calibPercentile, opts.perChannel (default TRUE here), opts.symmetric
 * (weights; default true), opts.reduceRange, opts.minSize (weights smaller
 * stay float, default 0 here since activations are quantized anyway),
 * opts.include / opts.exclude (node name, op type or weight name), opts.file.
 */
export async function quantizeStatic(input: ModelProto, opts: StaticQuantizeOptions = {}): Promise<SchemeResult> {
  const fold = opts.foldBatchNorm === false ? 'none' : (opts.fold ?? 'auto');
  if (fold !== 'auto') return quantizeStaticWith(input, opts, fold);
  const candidates = [await quantizeStaticWith(input, opts, 'bn'), await quantizeStaticWith(input, opts, 'affine')];
  if (candidates[0]!.notes.join() === candidates[1]!.notes.join()) return candidates[0]!; // nothing more to fold
  const batches = opts.calibration!;
  const ref = await runOutputs(input, batches, opts);
  const snr = await Promise.all(candidates.map(async (c) => outputSnr(ref, await runOutputs(c.model, batches, opts))));
  const best = snr[1]! > snr[0]! ? 1 : 0;
  const chosen = candidates[best]!;
  const note = `fold 'auto': kept '${best ? 'affine' : 'bn'}' (output SNR on the calibration batches ${snr[best]!.toFixed(1)} dB against ${snr[1 - best]!.toFixed(1)} dB for '${best ? 'bn' : 'affine'}')`;
  return { ...chosen, notes: [...chosen.notes, note] };
}

/** Every float output of `model` on each batch, concatenated in output order. */
async function runOutputs(model: ModelProto, batches: readonly CalibrationFeed[], opts: StaticQuantizeOptions): Promise<Float32Array[]> {
  const bytes = writeOnnx(model);
  const out: Float32Array[] = [];
  const names = model.graph!.output.map((o) => o.name);
  const collect = (values: Record<string, { dtype: string; shape: readonly number[]; data: ArrayBufferView }>) => {
    const parts = names
      .map((n) => values[n])
      .filter((v) => v && v.dtype === 'float32')
      .map((v) => new Float32Array(v!.data.buffer, v!.data.byteOffset, v!.data.byteLength / 4));
    out.push(concatFloat32(parts));
  };
  const runner = await opts.openRunner!(bytes, opts.file === undefined ? {} : { file: opts.file });
  try {
    for (const b of batches) collect(await runner.run(feedTensors(b)));
  } finally {
    await runner.dispose();
  }
  return out;
}

function outputSnr(ref: readonly Float32Array[], test: readonly Float32Array[]): number {
  let signal = 0;
  let noise = 0;
  ref.forEach((r, i) => {
    const t = test[i]!;
    for (let j = 0; j < r.length; j++) {
      signal += r[j]! * r[j]!;
      noise += (r[j]! - (t[j] ?? 0)) ** 2;
    }
  });
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

async function quantizeStaticWith(input: ModelProto, opts: StaticQuantizeOptions, fold: 'bn' | 'affine' | 'none'): Promise<SchemeResult> {
  const file = opts.file;
  const where = file === undefined ? {} : { file };
  const batches = opts.calibration ?? [];
  if (batches.length === 0)
    throw new ModelpressError(
      'E_ARG',
      'static quantization needs calibration data (--calib <data> --calib-size N): no batches given',
      where,
    );
  if (!opts.openRunner)
    throw new ModelpressError('E_ARG', 'static quantization needs a runtime to run calibration batches (openRunner)', where);
  const model = cloneSharingBytes(input);
  const graph = model.graph;
  if (!graph) throw new ModelpressError('E_GRAPH', 'model has no graph', where);
  const notes: string[] = [];

  // which nodes: quantizable ops of the main graph with their weights constant where they are weights
  const isTarget = (n: NodeProto, i: number) =>
    (n.domain === '' || n.domain === 'ai.onnx') &&
    STATIC_QUANTIZED_OPS.includes(n.opType) &&
    nodeSelected(opts, n, n.name || `${n.opType}_${i}`);
  if (!graph.node.some(isTarget))
    throw new ModelpressError(
      'E_UNSUPPORTED',
      `static quantization applies to ${STATIC_QUANTIZED_OPS.join(', ')} in the main graph; this model has none selected`,
      where,
    );

  let perChannel = opts.perChannel ?? true;
  const before = defaultOpsetOf(model);
  if (perChannel && !canUpgradeOpset(model, 13) && canUpgradeOpset(model, 10)) {
    perChannel = false;
    notes.push('weights quantized per tensor: per-channel DequantizeLinear needs opset 13, which this model cannot be raised to');
  }
  const rewritten = upgradeOpset(
    model,
    perChannel ? 13 : 10,
    perChannel ? 'static quantization with per-channel weights' : 'static quantization (QuantizeLinear)',
    file,
  );
  const opset = defaultOpsetOf(model);
  if (opset !== before)
    notes.push(`opset raised from ${before} to ${opset}${rewritten.length ? ` (rewrote ${rewritten.join(', ')})` : ''}`);
  const names = new NameGen(allNames(model));
  if (fold !== 'none') {
    const folded = foldBatchNorms(
      graph,
      new Map(
        findWeights(model)
          .filter((d) => d.path === '')
          .map((d) => [d.name, d]),
      ),
      names,
      fold === 'affine',
    );
    if (folded > 0) notes.push(`${folded} BatchNormalization / per-channel Mul / Add node(s) folded into the Conv before them`);
  }
  const defs = findWeights(model).filter((d) => d.path === '');
  const defByName = new Map(defs.map((d) => [d.name, d]));
  const targets = graph.node.filter(isTarget);

  // tensors to quantize: activation inputs and (post-Relu/Clip) outputs of the targets
  const consumers = consumerMap(graph);
  const graphOutputs = new Set(graph.output.map((o) => o.name));
  const activations = new Set<string>();
  const isWeight = (name: string) => defByName.has(name);
  for (const n of targets) {
    const actInputs = n.opType === 'Conv' ? [0] : [0, 1];
    for (const i of actInputs) {
      const t = n.input[i];
      if (t && !isWeight(t)) activations.add(t);
    }
    const y = n.output[0];
    if (!y) continue;
    const users = consumers.get(y) ?? [];
    const only = users.length === 1 && !graphOutputs.has(y) ? users[0]! : undefined;
    if (only && (only.opType === 'Relu' || only.opType === 'Clip') && only.output[0]) {
      if ((consumers.get(only.output[0]) ?? []).length > 0) activations.add(only.output[0]);
    } else if (users.length > 0) activations.add(y); // a pair nobody reads would only cost time
  }
  const tensors = [...activations];

  // calibrate
  const collectors = await collectRanges(model, tensors, batches, opts, file);
  const ranges = rangesOf(collectors, opts.calibMethod ?? 'minmax', opts.calibPercentile);
  const actRange = intRange(8, false, false, opts.reduceRange ?? false);
  const actParams = new Map<string, QuantParams>();
  for (const [t, r] of ranges) actParams.set(t, computeQuantParams(r.lo, r.hi, actRange, false));

  // weights (and int32 biases), quantized once each
  const reports: TensorReport[] = [];
  const quantized = new Map<WeightDef, QuantizedWeight>();
  const symmetric = opts.symmetric ?? true;
  const minSize = opts.minSize ?? 0;
  for (const n of targets) {
    const def = defByName.get(n.input[1] ?? '');
    if (def?.dtype !== 'float32' || quantized.has(def)) continue;
    const count = def.shape.reduce((a, b) => a * b, 1);
    if (count < minSize) {
      if (!reports.some((r) => r.name === def.name)) reports.push(skippedReport(def, `${count} elements < min size ${minSize}`));
      continue;
    }
    const role = sharedRole(def);
    const axis = perChannel ? role?.channelAxis : undefined;
    const qw = quantizeWeight(weightValues(def, file), def.shape, {
      signed: true,
      symmetric,
      reduceRange: opts.reduceRange ?? false,
      axis,
    });
    quantized.set(def, qw);
    reports.push(weightReport(def, `int8 ${axis === undefined ? 'per-tensor' : `per-channel axis ${axis}`} (QDQ, static)`, qw));
  }
  for (const n of targets) {
    const b = defByName.get(n.input[2] ?? '');
    const w = defByName.get(n.input[1] ?? '');
    const x = actParams.get(n.input[0] ?? '');
    if (!b || !w || !x || b.dtype !== 'float32' || b.consumers.length !== 1 || quantized.has(b)) continue;
    const qw = quantized.get(w);
    if (!qw || b.shape.length !== 1) continue;
    const channels = b.shape[0]!;
    if (qw.scales.length !== 1 && qw.scales.length !== channels) continue;
    if (n.opType === 'Gemm' && !(qw.axis === undefined || qw.axis === (gemmTransB(n) ? 0 : 1))) continue;
    const bq = quantizeBias(weightValues(b, file), x.scale, qw.scales);
    quantized.set(b, bq);
    reports.push(weightReport(b, `int32 bias, scale = input scale x weight scale (QDQ, static)`, bq));
  }
  for (const [def, qw] of quantized) replaceWithDequantize(def, qw, names);

  insertActivationQdq(graph, actParams, names);
  for (const t of tensors) {
    const p = actParams.get(t)!;
    const c = collectors.get(t)!;
    reports.push({
      name: t,
      graph: '',
      ops: [],
      action: `uint8 activation scale ${p.scale.toPrecision(4)} zero point ${p.zeroPoint} (observed [${c.min.toPrecision(4)}, ${c.max.toPrecision(4)}], ${opts.calibMethod ?? 'minmax'})`,
      dtype: 'float32',
      shape: [],
      bytesBefore: 0,
      bytesAfter: 0,
    });
  }
  notes.push(
    `${quantized.size} weights and ${tensors.length} activations quantized, calibrated on ${batches.length} batch(es) by ${opts.calibMethod ?? 'minmax'}`,
  );
  return { model, tensors: reports, notes };
}

function gemmTransB(n: NodeProto): boolean {
  const a = n.attribute.find((x) => x.name === 'transB');
  return a !== undefined && a.i !== 0n;
}

/** int32 bias codes with scale = activation scale x weight scale (per channel), zero point 0. */
function quantizeBias(b: Float32Array, xScale: number, wScales: Float32Array): QuantizedWeight {
  const scales = Float32Array.from({ length: b.length }, (_, c) => Math.fround(xScale * wScales[wScales.length === 1 ? 0 : c]!));
  const q = new Int32Array(b.length);
  const restored = new Float32Array(b.length);
  let se = 0;
  let sig = 0;
  let maxAbs = 0;
  for (let c = 0; c < b.length; c++) {
    const s = scales[c]! > 0 ? scales[c]! : 1;
    const v = Math.round(b[c]! / s);
    q[c] = Math.max(-2147483647, Math.min(2147483647, v));
    restored[c] = Math.fround(q[c]! * s);
    const d = b[c]! - restored[c]!;
    se += d * d;
    sig += b[c]! * b[c]!;
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  return {
    tensor: intTensor('int32', [b.length], q),
    scale: fromFloat32(scales, 'float32', [b.length]),
    axis: 0,
    restored,
    error: { mse: se / Math.max(1, b.length), snrDb: se === 0 ? Infinity : 10 * Math.log10(sig / se), maxAbs },
    scales,
    zeroPoints: new Int32Array(b.length),
  };
}

function consumerMap(graph: GraphProto): Map<string, NodeProto[]> {
  const m = new Map<string, NodeProto[]>();
  for (const n of graph.node) {
    for (const t of new Set(n.input)) {
      if (!t) continue;
      const list = m.get(t);
      if (list) list.push(n);
      else m.set(t, [n]);
    }
  }
  return m;
}

/**
 * Puts Q -> DQ after each tensor of `params` (right after its producer, or
 * first for graph inputs) and makes every main-graph consumer read the DQ
 * output. Graph outputs keep their float tensors.
 */
function insertActivationQdq(graph: GraphProto, params: ReadonlyMap<string, QuantParams>, names: NameGen): void {
  const pairs = new Map<string, NodeProto[]>();
  const renamed = new Map<string, string>();
  for (const [t, p] of params) {
    const s = addInitializer(graph, names, `${t}_scale`, fromFloat32(Float32Array.of(p.scale), 'float32', []));
    const z = addInitializer(graph, names, `${t}_zero_point`, intTensor('uint8', [], [p.zeroPoint]));
    const q = names.fresh(`${t}_quantized`);
    const dq = names.fresh(`${t}_dequantized`);
    pairs.set(t, [makeNode(names, 'QuantizeLinear', [t, s, z], [q]), makeNode(names, 'DequantizeLinear', [q, s, z], [dq])]);
    renamed.set(t, dq);
  }
  const own = new Set([...pairs.values()].flat());
  const out: NodeProto[] = [];
  const produced = new Set<string>();
  for (const n of graph.node) for (const o of n.output) produced.add(o);
  for (const [t, nodes] of pairs) if (!produced.has(t)) out.push(...nodes);
  for (const n of graph.node) {
    out.push(n);
    for (const o of n.output) {
      const nodes = pairs.get(o);
      if (nodes) out.push(...nodes);
    }
  }
  for (const n of out) {
    if (own.has(n)) continue;
    n.input = n.input.map((t) => renamed.get(t) ?? t);
  }
  graph.node = out;
}
