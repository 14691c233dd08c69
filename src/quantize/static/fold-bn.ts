/**
 * Folding an inference-mode BatchNormalization (and per-channel Mul/Add
 * by constants, as PP-OCRv4's learnable affine blocks have) into the Conv
 * before it, so
 * the quantized weights are the ones that actually multiply (onnxruntime
 * does this itself for float models, but cannot once a Q/DQ pair sits
 * between the two). Per output channel o:
 *   k[o] = gamma[o] / sqrt(var[o] + eps)
 *   W'[o, ...] = W[o, ...] * k[o]      b'[o] = (b[o] - mean[o]) * k[o] + beta[o]
 * computed in float64 and stored as float32.
 */
import type { GraphProto, NodeProto } from 'onnx-buf';
import { fromFloat32 } from '../../core/tensor.js';
import { tensorToProto } from '../../formats/onnx/tensor-proto.js';
import { floatAttr, intAttr } from '../../graph/attributes.js';
import type { NameGen } from '../../graph/names.js';
import { removeWeightDefinition, weightValues } from '../qdq-helpers.js';
import type { WeightDef } from '../../graph/weights.js';

/**
 * Folds into each Conv of `graph` the chain of per-channel affine ops that
 * follows it: inference BatchNormalization, and Mul / Add by a constant
 * holding one value per output channel (shape [C,1,..], [1,C,1,..], [1] or
 * []), as long as each link is the only reader of the previous output (and
 * no graph output), and every constant involved is float32 and used by
 * nothing else (Mul/Add only when `affine`). `defs` are this graph's
 * weights by name (from findWeights). Returns how many ops were folded.
 */
export function foldBatchNorms(graph: GraphProto, defs: ReadonlyMap<string, WeightDef>, names: NameGen, affine = true): number {
  const users = new Map<string, NodeProto[]>();
  for (const n of graph.node) for (const t of new Set(n.input)) if (t) users.set(t, [...(users.get(t) ?? []), n]);
  const outputs = new Set(graph.output.map((o) => o.name));
  const removed = new Set<NodeProto>();
  const own = (d: WeightDef | undefined): d is WeightDef =>
    d !== undefined && d.dtype === 'float32' && d.consumers.length === 1 && !d.graphOutput;
  let folded = 0;
  for (const conv of [...graph.node]) {
    // a snapshot: removing folded Constant nodes below must not skip Convs
    if (conv.opType !== 'Conv' || (conv.domain !== '' && conv.domain !== 'ai.onnx')) continue;
    const w = defs.get(conv.input[1] ?? '');
    const b = conv.input[2] ? defs.get(conv.input[2]) : undefined;
    if (!own(w) || (conv.input[2] && !own(b))) continue;
    const channels = w.shape[0]!;
    const rank = w.shape.length;
    let wv: Float32Array | undefined;
    let bv: Float32Array | undefined;
    let betaName: string | undefined;
    const used: WeightDef[] = [];
    for (;;) {
      const y = conv.output[0];
      const next = y ? users.get(y) : undefined;
      if (!y || outputs.has(y) || next?.length !== 1) break;
      const op = next[0]!;
      if (op.domain !== '' && op.domain !== 'ai.onnx') break;
      let scale: Float64Array | undefined;
      let shift: Float64Array | undefined;
      let consumed: WeightDef[] = [];
      if (op.opType === 'BatchNormalization' && op.output.filter((o) => o).length === 1 && intAttr(op, 'training_mode', 0) === 0) {
        const params = op.input.slice(1, 5).map((t) => defs.get(t));
        if (!params.every(own) || params.some((p) => p.shape.reduce((a, c) => a * c, 1) !== channels)) break;
        const [gamma, beta, mean, variance] = params.map((p) => weightValues(p));
        const eps = floatAttr(op, 'epsilon', 1e-5);
        scale = Float64Array.from({ length: channels }, (_, o) => gamma![o]! / Math.sqrt(variance![o]! + eps));
        shift = Float64Array.from({ length: channels }, (_, o) => beta![o]! - mean![o]! * scale![o]!);
        consumed = params;
        betaName ??= op.input[2];
      } else if (affine && (op.opType === 'Mul' || op.opType === 'Add')) {
        const other = op.input[0] === y ? op.input[1] : op.input[0];
        const c = defs.get(other ?? '');
        if (!own(c) || op.input.length !== 2 || !perChannelShape(c.shape, channels, rank)) break;
        const v = weightValues(c);
        const at = (o: number) => v[v.length === 1 ? 0 : o]!;
        if (op.opType === 'Mul') scale = Float64Array.from({ length: channels }, (_, o) => at(o));
        else shift = Float64Array.from({ length: channels }, (_, o) => at(o));
        consumed = [c];
      } else break;
      wv ??= weightValues(w);
      bv ??= b ? weightValues(b) : new Float32Array(channels);
      const per = wv.length / channels;
      for (let o = 0; o < channels; o++) {
        const k = scale ? scale[o]! : 1;
        if (scale) for (let i = 0; i < per; i++) wv[o * per + i] = wv[o * per + i]! * k;
        bv[o] = bv[o]! * k + (shift ? shift[o]! : 0);
      }
      used.push(...consumed);
      conv.output = [op.output[0]!];
      removed.add(op);
      folded++;
    }
    if (!wv || !bv) continue;
    for (const d of [w, ...(b ? [b] : []), ...used]) removeWeightDefinition(d);
    // the definitions just removed free their names: the folded tensors take them over
    const wName = w.name;
    const bName = b?.name ?? betaName ?? names.fresh(`${w.name}_bias`);
    graph.initializer.push(tensorToProto(wName, fromFloat32(wv, 'float32', w.shape)));
    graph.initializer.push(tensorToProto(bName, fromFloat32(bv, 'float32', [channels])));
    conv.input = [conv.input[0]!, wName, bName];
  }
  graph.node = graph.node.filter((n) => !removed.has(n));
  return folded;
}

/** True for a constant that broadcasts one value per channel of a Conv output of `rank` dims: [C,1,..], [1,C,1,..], [1] or []. */
function perChannelShape(shape: readonly number[], channels: number, rank: number): boolean {
  const count = shape.reduce((a, c) => a * c, 1);
  if (count === 1) return true;
  if (count !== channels || shape.length > rank) return false;
  // right-aligned broadcasting: the channel dim must land on axis 1 of the output
  const axis = rank - shape.length + shape.indexOf(channels);
  return axis === 1 && shape.filter((d) => d !== 1).length === 1;
}
