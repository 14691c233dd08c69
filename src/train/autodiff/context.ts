/**
 * What a gradient rule sees: its node, the gradients of the node's outputs,
 * which inputs need a gradient, static shape info, and small helpers that
 * emit ONNX nodes (opset-aware) into the training graph.
 */
import type { NodeProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import type { Attrs } from '../../graph/attributes.js';
import { findAttr, floatAttr, intAttr, intsAttr, stringAttr } from '../../graph/attributes.js';
import type { GraphBuilder } from '../../graph/builder.js';
import type { ShapeInfo } from '../../graph/shape-inference.js';
import { graphDTypeFromOnnx, makeTensorProto, type GraphDType } from '../../graph/tensor-proto.js';

/**
 * A gradient rule: given the context of one forward node, return the gradient
 * tensor name for each input (index-aligned), or null/undefined for inputs that
 * get no gradient (not needed, or not differentiable: shapes, indices, axes).
 */
export type GradientRule = (ctx: RuleContext) => (string | null | undefined)[];

export class RuleContext {
  constructor(
    readonly node: NodeProto,
    readonly b: GraphBuilder,
    readonly shapes: ShapeInfo,
    /** Default-domain opset of the training graph. */
    readonly opset: number,
    private readonly outGrads: (string | undefined)[],
    private readonly needed: boolean[],
    /** Shape(x) tensors already emitted, shared by all rules of one graph. */
    private readonly shapeCache: Map<string, string>,
  ) {}

  /** Name of input i ('' when absent). */
  input(i: number): string {
    return this.node.input[i] ?? '';
  }
  output(i: number): string {
    return this.node.output[i] ?? '';
  }
  /** Whether input i needs a gradient (it lies on a path from a trainable to the loss). */
  needs(i: number): boolean {
    return this.needed[i] ?? false;
  }
  /** Gradient of output i, or undefined when that output does not reach the loss. */
  gradOut(i: number): string | undefined {
    return this.outGrads[i];
  }
  /** Gradient of output i, zeros of the output's shape when it does not reach the loss. */
  gradOutOrZeros(i: number): string {
    return this.outGrads[i] ?? this.zerosLike(this.output(i));
  }

  intAttr(name: string, dflt: number): number {
    return intAttr(this.node, name, dflt);
  }
  floatAttr(name: string, dflt: number): number {
    return floatAttr(this.node, name, dflt);
  }
  stringAttr(name: string, dflt: string): string {
    return stringAttr(this.node, name, dflt);
  }
  intsAttr(name: string): number[] | undefined {
    return intsAttr(this.node, name);
  }
  hasAttr(name: string): boolean {
    return findAttr(this.node, name) !== undefined;
  }

  /** Fails with E_GRAPH naming this node. */
  fail(message: string): never {
    throw new ModelpressError('E_GRAPH', `${this.node.opType} node '${this.node.name || this.node.output[0]}': ${message}`);
  }
  unsupported(message: string): never {
    throw new ModelpressError('E_UNSUPPORTED', `${this.node.opType} node '${this.node.name || this.node.output[0]}': ${message}`);
  }

  /** Static rank of a tensor; throws when shape inference could not find it. */
  rank(name: string): number {
    const r = this.shapes.rank(name);
    if (r === undefined) this.fail(`the rank of '${name}' is unknown (declare shapes on the graph inputs or value_info)`);
    return r;
  }
  /** Float dtype of a tensor (float32 when unknown). */
  dtype(name: string): GraphDType {
    // Gradient tensors made by rules carry no static info: they share the dtype of the node's float tensors.
    const et =
      this.shapes.elemType(name) || this.shapes.elemType(this.node.output[0] ?? '') || this.shapes.elemType(this.node.input[0] ?? '');
    return graphDTypeFromOnnx(et) ?? 'float32';
  }
  /** Constant integer values of a tensor when known statically (initializer / Constant). */
  constInts(name: string): number[] | undefined {
    return name ? this.shapes.constants.get(name) : undefined;
  }

  op(opType: string, inputs: readonly string[], attrs?: Attrs): string {
    return this.b.op(opType, inputs, attrs, `${this.node.name || this.node.opType}_grad_${opType}`);
  }
  node2(opType: string, inputs: readonly string[], outputs: number, attrs?: Attrs): string[] {
    return this.b.node(opType, inputs, { outputs, attrs, name: `${this.node.name || this.node.opType}_grad_${opType}` });
  }
  /** A scalar constant of the dtype of `like`. */
  scalarLike(value: number, like: string): string {
    return this.b.scalar(value, this.dtype(like));
  }
  int64s(values: readonly number[]): string {
    return this.b.int64s(values);
  }
  /** Shape(x), emitted once per tensor. */
  shapeOf(x: string): string {
    let s = this.shapeCache.get(x);
    if (!s) {
      s = this.b.op('Shape', [x], undefined, `Shape_${x}`);
      this.shapeCache.set(x, s);
    }
    return s;
  }
  zerosLike(x: string): string {
    const dt = this.dtype(x);
    return this.b.op('ConstantOfShape', [this.shapeOf(x)], { value: { tensor: zeroTensor(dt) } });
  }
  /** Reshape(g, Shape(like)). */
  reshapeLike(g: string, like: string): string {
    return this.op('Reshape', [g, this.shapeOf(like)]);
  }
  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }
  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }
  div(a: string, b: string): string {
    return this.op('Div', [a, b]);
  }
  neg(a: string): string {
    return this.op('Neg', [a]);
  }
  /** Cast a bool/int tensor to the float dtype of `like`. */
  castLike(x: string, like: string): string {
    return this.op('Cast', [x], { to: onnxOf(this.dtype(like)) });
  }

  /** ReduceSum over constant axes (opset >= 13 form). Empty axes = identity. */
  reduceSum(x: string, axes: readonly number[] | string, keepdims: boolean): string {
    const axesName = typeof axes === 'string' ? axes : this.int64s(axes);
    return this.op('ReduceSum', [x, axesName], { keepdims: keepdims ? 1 : 0, noop_with_empty_axes: 1 });
  }
  /** ReduceMean over constant axes in the form this opset wants. */
  reduceMean(x: string, axes: readonly number[], keepdims: boolean): string {
    if (this.opset >= 18) return this.op('ReduceMean', [x, this.int64s(axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op('ReduceMean', [x], { axes: [...axes], keepdims: keepdims ? 1 : 0 });
  }
  unsqueeze(x: string, axes: readonly number[] | string): string {
    return this.op('Unsqueeze', [x, typeof axes === 'string' ? axes : this.int64s(axes)]);
  }
  squeeze(x: string, axes: readonly number[]): string {
    return this.op('Squeeze', [x, this.int64s(axes)]);
  }

  /**
   * Sums `grad` (the gradient of a broadcast result) down to the shape of
   * `target`. Uses static shapes when they settle it, else run-time Shape ops,
   * so symbolic batch dims work.
   */
  unbroadcast(grad: string, target: string, resultName?: string): string {
    const gs = this.shapes.get(resultName ?? '')?.shape;
    const ts = this.shapes.get(target)?.shape;
    if (gs && ts && gs.length >= ts.length) {
      const offset = gs.length - ts.length;
      const axes: number[] = [];
      let decided = true;
      for (let i = 0; i < gs.length; i++) {
        if (i < offset) {
          axes.push(i);
          continue;
        }
        const t = ts[i - offset]!,
          g = gs[i]!;
        if (t === 1) {
          if (g !== 1) axes.push(i);
        } else if (t === g && t !== null) continue;
        else if (typeof t === 'number')
          continue; // a dim > 1 is never broadcast
        else decided = false;
      }
      if (decided) {
        if (axes.length === 0 && offset === 0) return grad;
        const summed = this.reduceSum(grad, axes, true);
        if (offset === 0) return summed;
        const st = this.shapes.staticShape(target);
        return this.op('Reshape', [summed, st ? this.int64s(st) : this.shapeOf(target)]);
      }
    }
    return this.unbroadcastDynamic(grad, target);
  }

  /** Run-time version: reduce over the axes where the (left-padded) target dim is 1. */
  unbroadcastDynamic(grad: string, target: string): string {
    const gShape = this.op('Shape', [grad]);
    const tShape = this.shapeOf(target);
    const gRank = this.op('Size', [gShape]);
    const tRank = this.op('Size', [tShape]);
    const pad = this.op('Reshape', [this.op('Sub', [gRank, tRank]), this.int64s([1])]);
    const ones = this.op('Expand', [this.int64s([1]), pad]);
    const padded = this.op('Concat', [ones, tShape], { axis: 0 });
    const isOne = this.op('Equal', [padded, this.int64s([1])]);
    const differs = this.op('Not', [this.op('Equal', [padded, gShape])]);
    const axes = this.op('Reshape', [this.op('NonZero', [this.op('And', [isOne, differs])]), this.int64s([-1])]);
    const summed = this.reduceSum(grad, axes, true);
    return this.reshapeLike(summed, target);
  }
}

export function onnxOf(d: GraphDType): number {
  return { float32: 1, float64: 11, int64: 7, int32: 6, bool: 9, int8: 3, uint8: 2 }[d];
}

function zeroTensor(dt: GraphDType) {
  return makeTensorProto('', dt, [1], [0]);
}
