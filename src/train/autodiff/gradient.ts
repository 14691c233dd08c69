/**
 * Reverse-mode differentiation of an ONNX graph into ONNX nodes: walk the
 * nodes between the trainable tensors and the loss in reverse topological
 * order, ask each node's rule for its input gradients, sum the contributions
 * of tensors used several times, and expose the gradients as graph outputs.
 */
import type { GraphProto, ModelProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { GraphBuilder, defaultOpset } from '../../graph/builder.js';
import { inferShapes, type ShapeInfo } from '../../graph/shape-inference.js';
import { makeTensorProto, graphDTypeFromOnnx } from '../../graph/tensor-proto.js';
import { topologicalSort, nodeInputs } from '../../graph/toposort.js';
import { makeValueInfo } from '../../graph/value-info.js';
import { cloneModel } from '../../graph/model-edit.js';
import { RuleContext } from './context.js';
import { LOWERED_OPS } from './lower.js';
import { createRuleRegistry, NON_DIFFERENTIABLE_OPS, ruleKey, type RuleRegistry } from './registry.js';
import type { GradientGraph, GradientGraphOptions } from './types.js';

const FLOAT_TYPES = new Set([1, 10, 11, 16]);

/** Moves initializers named in `names` to graph inputs (same dtype and dims). */
export function initializersToInputs(graph: GraphProto, names: readonly string[]): void {
  const inputNames = new Set(graph.input.map((v) => v.name));
  for (const name of names) {
    const i = graph.initializer.findIndex((t) => t.name === name);
    if (i < 0) {
      if (inputNames.has(name)) continue;
      throw new ModelpressError('E_NOT_FOUND', `trainable tensor '${name}' is neither an initializer nor a graph input`);
    }
    const t = graph.initializer[i]!;
    graph.initializer.splice(i, 1);
    if (!inputNames.has(name)) graph.input.push(makeValueInfo(name, t.dataType, t.dims.map(Number)));
  }
}

/**
 * Differentiates the scalar `opts.loss` with respect to `opts.wrt` and returns
 * a copy of `model` whose outputs add one gradient per `wrt` tensor. The
 * `wrt` initializers become graph inputs. Throws E_GRAPH for an op without a
 * rule on a gradient path, naming the op type and node.
 */
export function buildGradientGraph(
  model: ModelProto,
  opts: GradientGraphOptions,
  registry: RuleRegistry = createRuleRegistry(),
): GradientGraph {
  const out = cloneModel(model);
  const graph = out.graph;
  if (!graph) throw new ModelpressError('E_GRAPH', 'model has no graph');
  initializersToInputs(graph, opts.wrt);
  const gradients = differentiateGraph(graph, defaultOpset(out), opts, registry);
  return { model: out, gradients };
}

/** In-place core of buildGradientGraph on a graph whose `wrt` tensors are already inputs. */
export function differentiateGraph(
  graph: GraphProto,
  opset: number,
  opts: GradientGraphOptions,
  registry: RuleRegistry,
  shapesIn?: ShapeInfo,
): Map<string, string> {
  const shapes = shapesIn ?? inferShapes(graph);
  const order = topologicalSort(graph);
  const b = new GraphBuilder(graph);
  const producerOf = new Map<string, number>();
  order.forEach((n, i) => n.output.forEach((o) => o && producerOf.set(o, i)));
  if (!producerOf.has(opts.loss) && !opts.wrt.includes(opts.loss)) {
    throw new ModelpressError('E_GRAPH', `loss tensor '${opts.loss}' is not produced by any node`);
  }

  // Forward: tensors that depend on a trainable through differentiable ops.
  const varying = new Set<string>(opts.wrt);
  for (const n of order) {
    if (NON_DIFFERENTIABLE_OPS.has(n.opType)) continue;
    if (!nodeInputs(n).some((i) => varying.has(i))) continue;
    for (const o of n.output) {
      if (!o) continue;
      const et = shapes.elemType(o);
      if (et === 0 || FLOAT_TYPES.has(et) || n.opType === 'QuantizeLinear') varying.add(o);
    }
  }
  // Backward: tensors the loss depends on.
  const ancestors = new Set<string>([opts.loss]);
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    if (n.output.some((o) => ancestors.has(o))) for (const inp of nodeInputs(n)) ancestors.add(inp);
  }

  const contributions = new Map<string, string[]>();
  const finalGrad = new Map<string, string>();
  const addGrad = (t: string, g: string): void => {
    const list = contributions.get(t);
    if (list) list.push(g);
    else contributions.set(t, [g]);
  };
  const gradOf = (t: string): string | undefined => {
    const hit = finalGrad.get(t);
    if (hit) return hit;
    const list = contributions.get(t);
    if (!list || list.length === 0) return undefined;
    const g = list.length === 1 ? list[0]! : b.op('Sum', list, undefined, `grad_sum_${t}`);
    finalGrad.set(t, g);
    return g;
  };

  // Seed: d loss / d loss = 1.
  const lossType = graphDTypeFromOnnx(shapes.elemType(opts.loss)) ?? 'float32';
  const lossRank = shapes.rank(opts.loss);
  const seed =
    lossRank === 0
      ? b.scalar(1, lossType)
      : b.op('ConstantOfShape', [b.op('Shape', [opts.loss])], { value: { tensor: makeTensorProto('', lossType, [1], [1]) } });
  addGrad(opts.loss, seed);

  const shapeOfCache = new Map<string, string>();
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    if (!n.output.some((o) => ancestors.has(o) && varying.has(o))) continue;
    const needed = n.input.map((inp) => inp !== '' && varying.has(inp) && ancestors.has(inp));
    if (!needed.some(Boolean)) continue;
    const outGrads = n.output.map((o) => (o ? gradOf(o) : undefined));
    if (outGrads.every((g) => g === undefined)) continue;
    const rule = registry.get(ruleKey(n.domain, n.opType));
    if (!rule) {
      const path = opts.wrt
        .filter((w) => varying.has(w))
        .slice(0, 3)
        .join(', ');
      const hint = LOWERED_OPS.has(n.opType)
        ? ` (${n.opType} is lowered to primitives by buildTrainingGraph / lowerModel; lower first)`
        : '';
      throw new ModelpressError(
        'E_GRAPH',
        `no gradient rule for op ${n.domain ? `${n.domain}::` : ''}${n.opType} (node '${n.name || n.output[0]}') on the gradient path from trainable tensor(s) ${path} to loss '${opts.loss}'${hint}`,
      );
    }
    const ctx = new RuleContext(n, b, shapes, opset, outGrads, needed, shapeOfCache);
    const inGrads = rule(ctx);
    n.input.forEach((inp, k) => {
      const g = inGrads[k];
      if (needed[k] && g) addGrad(inp, g);
    });
  }

  const gradients = new Map<string, string>();
  for (const w of opts.wrt) {
    let g = gradOf(w);
    const et = shapes.elemType(w);
    if (!g) {
      // Not on a path to the loss: the gradient is zero.
      const dt = graphDTypeFromOnnx(et) ?? 'float32';
      g = b.op('ConstantOfShape', [b.op('Shape', [w])], { value: { tensor: makeTensorProto('', dt, [1], [0]) } });
    }
    const name = b.names.fresh(opts.gradName ? opts.gradName(w) : `${w}_grad`);
    b.node('Identity', [g], { outputs: [name], name: `grad_out_${w}` });
    graph.output.push(makeValueInfo(name, et, shapes.get(w)?.shape));
    gradients.set(w, name);
  }
  if (!graph.output.some((o) => o.name === opts.loss))
    graph.output.push(makeValueInfo(opts.loss, shapes.elemType(opts.loss), shapes.get(opts.loss)?.shape));
  const sorted = topologicalSort(graph);
  graph.node.splice(0, graph.node.length, ...sorted);
  return gradients;
}
