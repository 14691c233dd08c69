/**
 * Raising a model's default opset past versions that changed an op's
 * signature, by rewriting those nodes into their new form. opset.ts refuses
 * such upgrades; the PP-OCR rec and cls models (opset 9, with Slice and
 * Clip) need one before any QuantizeLinear (opset 10) or per-axis
 * DequantizeLinear (opset 13) can appear. Rewrites here are exact: attributes
 * that moved to inputs become constant inputs; Softmax-family ops, whose
 * axis meaning changed at 13, are wrapped as Flatten -> op(axis -1) ->
 * Reshape(Shape(x)), which is the old definition written in the new ops.
 */
import { create } from '@bufbuild/protobuf';
import { NodeProtoSchema, type GraphProto, type ModelProto, type NodeProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { walkModel } from '../formats/onnx/walk.js';
import { findAttr, floatAttr, intAttr, intsAttr, makeAttribute } from '../graph/attributes.js';
import { NameGen } from '../graph/names.js';
import { makeTensorProto } from '../graph/tensor-proto.js';
import { defaultOpsetOf, opsBlockingUpgrade } from './opset.js';
import { allNames } from '../graph/weights.js';

type Rewrite = (node: NodeProto, graph: GraphProto, names: NameGen, extra: NodeProto[]) => void;

/** Version at which each rewrite applies; the rewrite turns the old form into that version's form. */
const REWRITES: Record<string, { readonly version: number; readonly rewrite: Rewrite }> = {
  Slice: { version: 10, rewrite: attrsToInputs(['starts', 'ends', 'axes']) },
  Clip: { version: 11, rewrite: clipToInputs },
  Squeeze: { version: 13, rewrite: attrsToInputs(['axes']) },
  Unsqueeze: { version: 13, rewrite: attrsToInputs(['axes']) },
  ReduceSum: { version: 13, rewrite: attrsToInputs(['axes']) },
  Split: { version: 13, rewrite: attrsToInputs(['split']) },
  TopK: { version: 10, rewrite: topKToInput },
  Softmax: { version: 13, rewrite: softmaxFamily },
  LogSoftmax: { version: 13, rewrite: softmaxFamily },
  Hardmax: { version: 13, rewrite: softmaxFamily },
};

/** Whether `upgradeOpset(model, target)` would succeed. */
export function canUpgradeOpset(model: ModelProto, target: number): boolean {
  const from = defaultOpsetOf(model);
  return from >= target || unhandled(model, from, target).length === 0;
}

function unhandled(model: ModelProto, from: number, target: number): string[] {
  return opsBlockingUpgrade(model, from, target).filter((op) => {
    const r = REWRITES[op];
    // a rewrite only turns the form just before its version into that version's form
    return !r || r.version <= from || r.version > target;
  });
}

/**
 * Raises the default-domain opset of `model` (in place) to `target`,
 * rewriting nodes whose form changed in between. Throws E_UNSUPPORTED
 * naming the ops it cannot rewrite. Returns the op types it rewrote.
 */
export function upgradeOpset(model: ModelProto, target: number, why: string, file?: string): string[] {
  const from = defaultOpsetOf(model);
  if (from >= target) return [];
  if (from < 7)
    throw new ModelpressError(
      'E_UNSUPPORTED',
      `${why} needs opset ${target}; the model has opset ${from} (older than 7), convert it first`,
      file === undefined ? {} : { file },
    );
  const left = unhandled(model, from, target);
  if (left.length > 0) {
    throw new ModelpressError(
      'E_UNSUPPORTED',
      `${why} needs opset ${target}, the model has opset ${from}, and raising it would change ${left.join(', ')} (their meaning changed in between); convert the model to opset ${target} first`,
      file === undefined ? {} : { file },
    );
  }
  let functionsBlocked = false;
  walkModel(
    model,
    () => undefined,
    ({ nodes }) => {
      if (nodes.some((n) => (n.domain === '' || n.domain === 'ai.onnx') && REWRITES[n.opType])) functionsBlocked = true;
    },
  );
  if (functionsBlocked)
    throw new ModelpressError(
      'E_UNSUPPORTED',
      `${why} needs opset ${target}; ops to rewrite sit inside model functions, which modelpress does not rewrite`,
      file === undefined ? {} : { file },
    );
  const names = new NameGen(allNames(model));
  const rewritten = new Set<string>();
  walkModel(model, ({ graph }) => {
    const out: NodeProto[] = [];
    for (const node of graph.node) {
      const r = node.domain === '' || node.domain === 'ai.onnx' ? REWRITES[node.opType] : undefined;
      if (r && r.version > from && r.version <= target) {
        const extra: NodeProto[] = [];
        r.rewrite(node, graph, names, extra);
        out.push(...extra);
        rewritten.add(node.opType);
      } else out.push(node);
    }
    graph.node = out;
  });
  const entry = model.opsetImport.find((x) => x.domain === '' || x.domain === 'ai.onnx')!;
  entry.version = BigInt(target);
  const ir = target >= 21 ? 10n : target >= 19 ? 9n : target >= 15 ? 8n : 7n;
  if (model.irVersion < ir) model.irVersion = ir;
  return [...rewritten].sort();
}

function removeAttrs(node: NodeProto, names: readonly string[]): void {
  node.attribute = node.attribute.filter((a) => !names.includes(a.name));
}

/** Moves int-list attributes to int64 inputs (in order); an absent one becomes an empty input name, trailing ones are dropped. */
function attrsToInputs(attrs: readonly string[]): Rewrite {
  return (node, graph, names, extra) => {
    const inputs: string[] = [];
    for (const a of attrs) {
      const v = intsAttr(node, a);
      if (v === undefined) {
        inputs.push('');
        continue;
      }
      const name = names.fresh(`${node.name || node.opType}_${a}`);
      graph.initializer.push(makeTensorProto(name, 'int64', [v.length], v));
      inputs.push(name);
    }
    while (inputs.length > 0 && inputs[inputs.length - 1] === '') inputs.pop();
    removeAttrs(node, attrs);
    node.input = [node.input[0] ?? '', ...inputs];
    extra.push(node);
  };
}

function clipToInputs(node: NodeProto, graph: GraphProto, names: NameGen, extra: NodeProto[]): void {
  const inputs = [node.input[0] ?? ''];
  const hasMin = findAttr(node, 'min') !== undefined;
  const hasMax = findAttr(node, 'max') !== undefined;
  if (hasMin || hasMax) {
    if (hasMin) {
      const n = names.fresh(`${node.name || 'Clip'}_min`);
      graph.initializer.push(makeTensorProto(n, 'float32', [], [floatAttr(node, 'min', 0)]));
      inputs.push(n);
    } else inputs.push('');
    if (hasMax) {
      const n = names.fresh(`${node.name || 'Clip'}_max`);
      graph.initializer.push(makeTensorProto(n, 'float32', [], [floatAttr(node, 'max', 0)]));
      inputs.push(n);
    }
  }
  removeAttrs(node, ['min', 'max']);
  node.input = inputs;
  extra.push(node);
}

function topKToInput(node: NodeProto, graph: GraphProto, names: NameGen, extra: NodeProto[]): void {
  const k = intAttr(node, 'k', 1);
  const n = names.fresh(`${node.name || 'TopK'}_k`);
  graph.initializer.push(makeTensorProto(n, 'int64', [1], [k]));
  removeAttrs(node, ['k']);
  node.input = [node.input[0] ?? '', n];
  extra.push(node);
}

/** Before 13: coerce to 2-D at `axis` (default 1) and normalize each row. Exactly that, in opset-13 ops. */
function softmaxFamily(node: NodeProto, graph: GraphProto, names: NameGen, extra: NodeProto[]): void {
  const axis = intAttr(node, 'axis', 1);
  if (axis === -1) {
    extra.push(node); // last axis: same meaning before and after 13
    return;
  }
  const base = node.name || node.opType;
  const x = node.input[0]!;
  const flat = names.fresh(`${base}_flat`);
  const shape = names.fresh(`${base}_shape`);
  const inner = names.fresh(`${base}_2d`);
  extra.push(
    create(NodeProtoSchema, {
      name: names.fresh(`${base}_flatten`),
      opType: 'Flatten',
      input: [x],
      output: [flat],
      attribute: [makeAttribute('axis', axis)],
    }),
  );
  extra.push(create(NodeProtoSchema, { name: names.fresh(`${base}_shapeof`), opType: 'Shape', input: [x], output: [shape] }));
  removeAttrs(node, ['axis']);
  node.attribute.push(makeAttribute('axis', -1));
  const y = node.output[0]!;
  node.input = [flat];
  node.output = [inner];
  extra.push(node);
  extra.push(create(NodeProtoSchema, { name: names.fresh(`${base}_reshape`), opType: 'Reshape', input: [inner, shape], output: [y] }));
  void graph;
}
