/**
 * The loop every weight scheme runs: clone the model, find its weights,
 * apply the selection, hand each float32 weight to the scheme's per-weight
 * function, splice in what it returns, and report per tensor.
 */
import type { ModelProto } from 'onnx-buf';
import { toFloat32 } from '../core/tensor.js';
import { cloneSharingBytes } from '../formats/onnx/clone.js';
import { tensorFromProto } from '../formats/onnx/tensor-proto.js';
import { hoistConstantNodes } from '../graph/model-edit.js';
import { NameGen } from '../graph/names.js';
import { dedupeSubgraphInitializers } from './dedupe.js';
import { errorStats } from './linear.js';
import { payloadBytes, type Decoder } from './rewrite.js';
import { makeSelection } from './select.js';
import { foldBatchNorms } from './static/fold-bn.js';
import type { QuantizeOptions, SchemeResult, TensorReport } from './types.js';
import { allNames, findWeights, type WeightDef } from '../graph/weights.js';

export interface WeightContext {
  readonly model: ModelProto;
  readonly names: NameGen;
  readonly opts: QuantizeOptions;
  readonly notes: string[];
}

/** What a per-weight function did: the pieces to splice in and the values the model now computes with. */
export interface WeightOutcome {
  readonly action: string;
  /** Applies the change to the (cloned) model, returning the new initializers (for size accounting). */
  readonly apply: () => Decoder['initializers'];
  readonly restored: Float32Array;
}

export type WeightFn = (def: WeightDef, values: Float32Array, ctx: WeightContext) => WeightOutcome | { skip: string };

/**
 * Runs `fn` over every selected float32 weight. `prepare` may change the
 * cloned model first (e.g. raise its opset) once it knows the candidates.
 */
export function runWeightPass(
  model: ModelProto,
  opts: QuantizeOptions,
  fn: WeightFn,
  prepare?: (ctx: WeightContext, candidates: WeightDef[]) => void,
): SchemeResult {
  const clone = cloneSharingBytes(model);
  const dup = dedupeSubgraphInitializers(clone);
  const ctx: WeightContext = { model: clone, names: new NameGen(allNames(clone)), opts, notes: [] };
  if (dup.removed > 0)
    ctx.notes.push(`${dup.removed} duplicate initializers (${dup.bytes} bytes) merged into one copy each in the main graph`);
  if (opts.foldBatchNorm === true && clone.graph) {
    // what onnxruntime's quant_pre_process does: the folded weight is the one that multiplies, and the
    // BatchNormalization parameters (four float32 vectors per layer) disappear from the file
    const folded = foldBatchNorms(
      clone.graph,
      new Map(
        findWeights(clone)
          .filter((d) => d.path === '')
          .map((d) => [d.name, d]),
      ),
      ctx.names,
      false,
    );
    if (folded > 0) ctx.notes.push(`${folded} BatchNormalization node(s) folded into the Conv before them `);
  }
  const selection = makeSelection(opts.include, opts.exclude, opts.minSize ?? 256);
  const reports: TensorReport[] = [];
  const candidates: { def: WeightDef; count: number }[] = [];
  for (const def of findWeights(clone)) {
    const count = def.shape.reduce((a, b) => a * b, 1);
    const base = {
      name: def.name,
      graph: def.path,
      ops: [...new Set(def.consumers.map((c) => c.node.opType))],
      dtype: def.dtype ?? 'unknown',
      shape: def.shape,
    };
    const bytes = def.tensor.rawData.byteLength || count * 4;
    if (def.dtype !== 'float32') {
      if (def.dtype === 'float16' || def.dtype === 'bfloat16' || def.dtype === 'float64')
        reports.push({
          ...base,
          action: 'skipped',
          reason: `${def.dtype} weights are left as they are`,
          bytesBefore: bytes,
          bytesAfter: bytes,
        });
      continue; // integer tensors (shapes, indices) are not weights
    }
    if (def.consumers.length === 0 && !def.graphOutput) continue; // unused
    const reason = selection.reasonSkipped(def, count);
    if (reason) {
      reports.push({ ...base, action: 'skipped', reason, bytesBefore: count * 4, bytesAfter: count * 4 });
      continue;
    }
    candidates.push({ def, count });
  }
  prepare?.(
    ctx,
    candidates.map((c) => c.def),
  );
  for (const n of allNames(clone)) ctx.names.reserve(n); // prepare may have added nodes (opset upgrade rewrites)
  for (const { def, count } of candidates) {
    const base = {
      name: def.name,
      graph: def.path,
      ops: [...new Set(def.consumers.map((c) => c.node.opType))],
      dtype: 'float32',
      shape: def.shape,
    };
    const values = toFloat32(tensorFromProto(def.tensor, opts.file === undefined ? {} : { file: opts.file }));
    const out = fn(def, values, ctx);
    if ('skip' in out) {
      reports.push({ ...base, action: 'skipped', reason: out.skip, bytesBefore: count * 4, bytesAfter: count * 4 });
      continue;
    }
    const inits = out.apply();
    reports.push({
      ...base,
      action: out.action,
      bytesBefore: count * 4,
      bytesAfter: payloadBytes(inits),
      error: errorStats(values, out.restored),
    });
  }
  // IR < 4 must list initializers among the graph inputs: leave Constant nodes as they are there
  if (clone.graph && clone.irVersion >= 4n) {
    const outputs = new Set(clone.graph.output.map((o) => o.name));
    const hoisted = hoistConstantNodes(clone.graph, (name) => !outputs.has(name)).length;
    if (hoisted > 0) ctx.notes.push(`${hoisted} Constant node(s) stored as initializers`);
  }
  return { model: clone, tensors: reports, notes: ctx.notes };
}
