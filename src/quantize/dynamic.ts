/**
 * Dynamic quantization, the equivalent of onnxruntime.quantization's
 * quantize_dynamic: weights are quantized ahead of time (int8, symmetric by
 * default), activations at run time by DynamicQuantizeLinear (uint8,
 * per-tensor, from the batch's own min/max). Rewrites:
 *
 *   MatMul(A, B)   -> DynamicQuantizeLinear(A) -> MatMulInteger(Aq, Bq, Azp, Bzp)
 *                     -> Cast(float) -> Mul(As * Bs)
 *   Gemm(A, B, C)  -> the same with B laid out [K, N] (transB applied ahead of
 *                     time), alpha folded into Bs, then + beta * C
 *   Conv(X, W, b)  -> DynamicQuantizeLinear(X) -> ConvInteger(Xq, Wq, Xzp, Wzp)
 *                     -> Cast -> Mul(Xs * Ws) -> + b
 *   Gather / LSTM / GRU / RNN weights -> weight-only DequantizeLinear.
 *
 * Per-channel weights keep one zero point for all channels (0 when
 * symmetric), so the per-channel scales go into the float Mul after the
 * integer op, which onnxruntime accepts for both MatMulInteger and
 * ConvInteger; asymmetric weights are per tensor.
 */
import type { GraphProto, ModelProto, NodeProto } from 'onnx-buf';
import { ONNX_TYPE } from '../core/dtypes.js';
import { ModelpressError } from '../core/errors.js';
import { fromFloat32 } from '../core/tensor.js';
import { cloneSharingBytes } from '../formats/onnx/clone.js';
import { walkModel } from '../formats/onnx/walk.js';
import { floatAttr, intAttr } from '../graph/attributes.js';
import { NameGen } from '../graph/names.js';
import { defaultOpsetOf } from './opset.js';
import {
  addInitializer,
  makeNode,
  nodeSelected,
  quantizeWeight,
  removeWeightDefinition,
  replaceWithDequantize,
  skippedReport,
  weightReport,
  weightValues,
  type QuantizedWeight,
} from './qdq-helpers.js';
import { foldBatchNorms } from './static/fold-bn.js';
import { canUpgradeOpset, upgradeOpset } from './opset-upgrade.js';
import type { QuantizeOptions, SchemeResult, TensorReport } from './types.js';
import { allNames, findWeights, sharedRole, type WeightDef, type WeightRole } from '../graph/weights.js';

interface Plan {
  readonly def: WeightDef;
  readonly role: WeightRole;
}

/** The integer weight shared by every consumer of one weight (per layout). */
interface IntWeight {
  readonly q: string;
  readonly zp: string;
  /** Scale initializer shaped for the post-op Mul ([], [N] or [C,1,..,1]). */
  readonly scale: string;
  readonly scales: Float32Array;
  readonly qw: QuantizedWeight;
}

/** Op types `quantizeDynamic` rewrites by default (as quantize_dynamic does). */
export const DYNAMIC_OPS: readonly string[] = ['MatMul', 'Gemm', 'Conv', 'Gather', 'LSTM', 'GRU', 'RNN'];

export interface DynamicQuantizeOptions extends QuantizeOptions {
  /**
   * Op types to rewrite (default DYNAMIC_OPS). onnxruntime's ConvInteger has
   * no fast kernel (PP-OCRv4 rec runs ~4x slower with it, see
   * bench/quantize-latency.ts): ['MatMul', 'Gemm', 'Gather', 'LSTM'] keeps
   * the speed-up where onnxruntime fuses DynamicQuantizeMatMul.
   */
  readonly ops?: readonly string[];
}

/**
 * Dynamic int8 quantization of `model` (not mutated). Reads opts.ops, Reads opts.perChannel
 * (default false), opts.symmetric (default true here, as onnxruntime does
 * for weights), opts.reduceRange, opts.minSize (default 256),
 * opts.include / opts.exclude, opts.file.
 */
export function quantizeDynamic(input: ModelProto, opts: DynamicQuantizeOptions = {}): SchemeResult {
  const model = cloneSharingBytes(input);
  const notes: string[] = [];
  const file = opts.file;
  const minSize = opts.minSize ?? 256;
  const symmetric = opts.symmetric ?? true;
  const perChannel = opts.perChannel ?? false;
  const reports: TensorReport[] = [];
  const plans = new Map<NodeProto, Plan>();
  const weightOnly: Plan[] = [];
  // inference BatchNormalization after a Conv would stay in float between ConvInteger and its consumers
  const foldedBn =
    model.graph && opts.foldBatchNorm !== false
      ? foldBatchNorms(
          model.graph,
          new Map(
            findWeights(model)
              .filter((d) => d.path === '')
              .map((d) => [d.name, d]),
          ),
          new NameGen(allNames(model)),
          false,
        )
      : 0;
  if (foldedBn > 0) notes.push(`${foldedBn} BatchNormalization node(s) folded into the Conv before them`);
  const defs = findWeights(model);
  for (const def of defs) {
    if (def.dtype !== 'float32') continue;
    const role = sharedRole(def);
    if (!role) continue;
    const count = def.shape.reduce((a, b) => a * b, 1);
    if (count < minSize) {
      reports.push(skippedReport(def, `${count} elements < min size ${minSize}`));
      continue;
    }
    const ops = opts.ops ?? DYNAMIC_OPS;
    if (!def.consumers.every((c) => ops.includes(c.node.opType))) {
      reports.push(
        skippedReport(
          def,
          `read by ${[...new Set(def.consumers.map((c) => c.node.opType))].join('/')}, not among the ops to rewrite (${ops.join(', ')})`,
        ),
      );
      continue;
    }
    if (!def.consumers.every((c) => nodeSelected(opts, c.node, c.label, def.name))) {
      reports.push(skippedReport(def, 'excluded by --include/--exclude'));
      continue;
    }
    if (role.role === 'embedding' || role.role === 'recurrent') weightOnly.push({ def, role });
    else if (role.role === 'conv-transpose') reports.push(skippedReport(def, 'ConvTranspose has no integer form in onnxruntime'));
    else for (const c of def.consumers) plans.set(c.node, { def, role });
  }
  if (plans.size === 0 && weightOnly.length === 0) {
    throw new ModelpressError(
      'E_UNSUPPORTED',
      'dynamic quantization applies to MatMul/Gemm/Conv with constant weights and to Gather/LSTM/GRU/RNN weights; none is left after --min-size/--include/--exclude',
      file === undefined ? {} : { file },
    );
  }
  const before = defaultOpsetOf(model);
  const rewritten = upgradeOpset(model, 11, 'dynamic quantization (DynamicQuantizeLinear)', file);
  const wantAxis = perChannel && weightOnly.length > 0;
  if (wantAxis && canUpgradeOpset(model, 13)) rewritten.push(...upgradeOpset(model, 13, 'per-channel DequantizeLinear', file));
  const opset = defaultOpsetOf(model);
  if (opset !== before)
    notes.push(`opset raised from ${before} to ${opset}${rewritten.length ? ` (rewrote ${[...new Set(rewritten)].join(', ')})` : ''}`);
  if (wantAxis && opset < 13)
    notes.push(
      'Gather/recurrent weights quantized per tensor: per-channel DequantizeLinear needs opset 13, which this model cannot be raised to',
    );

  const names = new NameGen(allNames(model));
  for (const { def, role } of weightOnly) {
    const axis = perChannel && opset >= 13 ? role.channelAxis : undefined;
    const qw = quantizeWeight(weightValues(def, file), def.shape, {
      signed: true,
      symmetric,
      reduceRange: opts.reduceRange ?? false,
      axis,
    });
    reports.push(
      weightReport(def, `int8 ${axis === undefined ? 'per-tensor' : `per-channel axis ${axis}`} weight-only (DequantizeLinear)`, qw),
    );
    replaceWithDequantize(def, qw, names);
  }

  const intWeights = new Map<string, IntWeight>();
  const done = new Set<WeightDef>();
  const skippedConsumers = new Set<WeightDef>();
  const rewriter = new Rewriter(names, opts, symmetric, perChannel, intWeights, done, file);
  walkModel(model, ({ graph }) => {
    const quantizedInputs = new Map<string, [string, string, string]>();
    const out: NodeProto[] = [];
    for (const node of graph.node) {
      const plan = plans.get(node);
      const made = plan ? rewriter.rewrite(node, plan, graph, quantizedInputs) : undefined;
      if (made) out.push(...made);
      else {
        if (plan) skippedConsumers.add(plan.def);
        out.push(node);
      }
    }
    graph.node = out;
  });
  for (const def of done) {
    if (!skippedConsumers.has(def)) removeWeightDefinition(def);
    const first = [...intWeights.entries()].find(([k]) => k.startsWith(`${def.path}|${def.name}|`))![1];
    const ops = [...new Set(def.consumers.map((c) => c.node.opType))].join('/');
    reports.push(
      weightReport(
        def,
        `int8 ${first.qw.axis === undefined ? 'per-tensor' : 'per-channel'} (${ops === 'Conv' ? 'ConvInteger' : 'MatMulInteger'}, dynamic uint8 activations)`,
        first.qw,
      ),
    );
  }
  for (const [, p] of plans)
    if (!done.has(p.def) && !reports.some((r) => r.name === p.def.name && r.graph === p.def.path))
      reports.push(skippedReport(p.def, rewriter.reasons.get(p.def) ?? 'no consumer could be rewritten'));
  return { model, tensors: reports, notes };
}

class Rewriter {
  readonly reasons = new Map<WeightDef, string>();

  constructor(
    private readonly names: NameGen,
    private readonly opts: DynamicQuantizeOptions,
    private readonly symmetric: boolean,
    private readonly perChannel: boolean,
    private readonly intWeights: Map<string, IntWeight>,
    private readonly done: Set<WeightDef>,
    private readonly file: string | undefined,
  ) {}

  /** New nodes replacing `node`, or undefined to leave it alone. */
  rewrite(node: NodeProto, plan: Plan, graph: GraphProto, quantizedInputs: Map<string, [string, string, string]>): NodeProto[] | undefined {
    const { def } = plan;
    const nodes: NodeProto[] = [];
    const a = node.input[0];
    const y = node.output[0];
    if (!a || !y) return undefined;
    if (node.opType === 'Conv') {
      const rank = def.shape.length;
      const w = this.intWeight(def, false, 'conv', rank);
      const [xq, xs, xz] = this.dynamicQuantize(a, nodes, quantizedInputs);
      const attrs = node.attribute;
      const yi = this.names.fresh(`${y}_int32`);
      const conv = makeNode(this.names, 'ConvInteger', [xq, w.q, xz, w.zp], [yi]);
      conv.attribute = attrs.map((x) => x);
      nodes.push(conv);
      const bias = node.input[2];
      const scaled = bias ? this.names.fresh(`${y}_nobias`) : y;
      this.rescale(yi, xs, w.scale, scaled, nodes);
      if (bias) {
        const shape = addInitializer(graph, this.names, `${y}_bias_shape`, {
          dtype: 'int64',
          shape: [rank - 1],
          data: new Uint8Array(BigInt64Array.from([-1n, ...Array.from({ length: rank - 2 }, () => 1n)]).buffer),
        });
        const b = this.names.fresh(`${y}_bias`);
        nodes.push(makeNode(this.names, 'Reshape', [bias, shape], [b]));
        nodes.push(makeNode(this.names, 'Add', [scaled, b], [y]));
      }
      this.done.add(def);
      return nodes;
    }
    if (node.opType === 'Gemm') {
      if (intAttr(node, 'transA', 0) !== 0) {
        this.reasons.set(def, 'Gemm with transA=1 left in float');
        return undefined;
      }
      const transB = intAttr(node, 'transB', 0) !== 0;
      const alpha = floatAttr(node, 'alpha', 1);
      const beta = floatAttr(node, 'beta', 1);
      const w = this.intWeight(def, transB, 'matmul', 2, alpha);
      const [aq, as, az] = this.dynamicQuantize(a, nodes, quantizedInputs);
      const yi = this.names.fresh(`${y}_int32`);
      nodes.push(makeNode(this.names, 'MatMulInteger', [aq, w.q, az, w.zp], [yi]));
      const c = node.input[2];
      const scaled = c ? this.names.fresh(`${y}_noc`) : y;
      this.rescale(yi, as, w.scale, scaled, nodes);
      if (c) {
        let cb = c;
        if (beta !== 1) {
          cb = this.names.fresh(`${y}_betaC`);
          const betaName = addInitializer(graph, this.names, `${y}_beta`, fromFloat32(Float32Array.of(beta), 'float32', []));
          nodes.push(makeNode(this.names, 'Mul', [c, betaName], [cb]));
        }
        nodes.push(makeNode(this.names, 'Add', [scaled, cb], [y]));
      }
      this.done.add(def);
      return nodes;
    }
    // MatMul
    if (def.shape.length !== 2) {
      this.reasons.set(def, `MatMul weight of rank ${def.shape.length} left in float (only 2-D B is rewritten)`);
      return undefined;
    }
    const w = this.intWeight(def, false, 'matmul', 2);
    const [aq, as, az] = this.dynamicQuantize(a, nodes, quantizedInputs);
    const yi = this.names.fresh(`${y}_int32`);
    nodes.push(makeNode(this.names, 'MatMulInteger', [aq, w.q, az, w.zp], [yi]));
    this.rescale(yi, as, w.scale, y, nodes);
    this.done.add(def);
    return nodes;
  }

  /** DynamicQuantizeLinear of `a`, made once per tensor per graph. */
  private dynamicQuantize(a: string, nodes: NodeProto[], cache: Map<string, [string, string, string]>): [string, string, string] {
    const hit = cache.get(a);
    if (hit) return hit;
    const outs: [string, string, string] = [
      this.names.fresh(`${a}_quantized`),
      this.names.fresh(`${a}_scale`),
      this.names.fresh(`${a}_zero_point`),
    ];
    nodes.push(makeNode(this.names, 'DynamicQuantizeLinear', [a], outs));
    cache.set(a, outs);
    return outs;
  }

  /** y = float(yi) * (activation scale * weight scale). */
  private rescale(yi: string, as: string, ws: string, y: string, nodes: NodeProto[]): void {
    const yf = this.names.fresh(`${yi}_float`);
    nodes.push(makeNode(this.names, 'Cast', [yi], [yf], { to: ONNX_TYPE.float32 }));
    const s = this.names.fresh(`${y}_scale`);
    nodes.push(makeNode(this.names, 'Mul', [as, ws], [s]));
    nodes.push(makeNode(this.names, 'Mul', [yf, s], [y]));
  }

  /**
   * The int8 weight for a MatMul-like consumer ([K, N], transposed from
   * [N, K] when `transposed`) or a Conv ([C, ...]), made once per layout,
   * placed in the weight's defining graph.
   */
  private intWeight(def: WeightDef, transposed: boolean, kind: 'matmul' | 'conv', rank: number, alpha = 1): IntWeight {
    const key = `${def.path}|${def.name}|${transposed ? 'T' : 'N'}|${alpha}`;
    const hit = this.intWeights.get(key);
    if (hit) return hit;
    let values = weightValues(def, this.file);
    let shape = def.shape;
    if (transposed) {
      const [n, k] = shape as [number, number];
      const t = new Float32Array(values.length);
      for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) t[j * n + i] = values[i * k + j]!;
      values = t;
      shape = [k, n];
    }
    const axis = this.perChannel && this.symmetric ? (kind === 'conv' ? 0 : 1) : undefined;
    const qw = quantizeWeight(values, shape, {
      signed: true,
      symmetric: this.symmetric,
      reduceRange: this.opts.reduceRange ?? false,
      axis,
    });
    const g = def.graph;
    const q = addInitializer(g, this.names, `${def.name}_quantized`, qw.tensor);
    // one zero point for every channel (0 when symmetric), so per-channel scales can move after the integer op
    const zp = addInitializer(g, this.names, `${def.name}_zero_point`, {
      ...qw.zeroPoint!,
      shape: [],
      data: qw.zeroPoint!.data.subarray(0, 1),
    });
    const scales = Float32Array.from(qw.scales, (s) => Math.fround(s * alpha));
    const scaleShape =
      axis === undefined ? [] : kind === 'conv' ? [scales.length, ...Array.from({ length: rank - 2 }, () => 1)] : [scales.length];
    const scale = addInitializer(g, this.names, `${def.name}_scale`, fromFloat32(scales, 'float32', scaleShape));
    const w: IntWeight = { q, zp, scale, scales, qw };
    this.intWeights.set(key, w);
    return w;
  }
}
