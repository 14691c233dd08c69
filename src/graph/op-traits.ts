/**
 * What modelpress knows about each ONNX op, one table: the element types of
 * its outputs, the shapes of its outputs, whether gradients flow through it,
 * how the float16 conversion treats it, and which inputs are weights.
 * Shape inference (shape-inference.ts), the fp16 conversion
 * (quantize/fp16.ts) and the autodiff registry (train/autodiff/registry.ts)
 * read it; the gradient rules themselves live in train/rules/ and a test
 * checks that they cover exactly the ops marked `gradient: 'rule'`.
 * Keys are default-domain op types.
 */
import type { AttributeProto, GraphProto, NodeProto, TensorProto, ValueInfoProto } from 'onnx-buf';
import { ONNX_TYPE } from '../core/dtypes.js';
import { findAttr, intAttr, intsAttr } from './attributes.js';
import { readTensorProtoNumbers } from './tensor-proto.js';
import type { Dim } from './value-info.js';

/** What a type rule sees: the node, its input types (0 unknown), and the types visible to a subgraph. */
export interface TypeCtx {
  readonly node: NodeProto;
  /** Element type of input `i` (0 when absent or unknown). */
  input(i: number): number;
  /** Element type of the first non-empty input. */
  readonly first: number;
  /** Every type known so far (for If/Loop/Scan bodies). */
  outer(): ReadonlyMap<string, number>;
}

/** What a shape rule sees. Dims are numbers or null (unknown); a shape is undefined when the rank is unknown. */
export interface ShapeCtx {
  readonly node: NodeProto;
  shape(i: number): Dim[] | undefined;
  /** Values of input `i` when it is a small constant integer tensor. */
  constant(i: number): number[] | undefined;
  /** Records the values of output `o` (it is a small constant integer tensor). */
  setConstant(o: number, values: number[]): void;
}

export interface Float16Traits {
  /** Never converted: the op and its bodies stay float32 (Loop, Scan). */
  readonly keepFloat32?: true;
  /** onnxruntime's CPU provider has no float16 kernel: fp16 keeps it float32 without probing (DEFAULT_FP32_OPS). */
  readonly noKernel?: true;
  /** Float inputs that stay float32 by the spec (Resize scales). */
  readonly float32Inputs?: readonly number[];
  /** Attribute naming the output element type: float32 there becomes float16. */
  readonly typeAttr?: string;
}

export interface OpTraits {
  /** Output element types (ONNX_TYPE values, 0 unknown); absent: every output has the first input's type. */
  readonly types?: (c: TypeCtx) => number[];
  /** Output shapes by output index (undefined: unknown rank); absent: every output's shape is unknown. */
  readonly shape?: (c: ShapeCtx) => (Dim[] | undefined)[];
  /** 'rule': a gradient rule in train/rules/; 'none': outputs never carry a gradient; 'lowered': rewritten to primitives first. */
  readonly gradient?: 'rule' | 'none' | 'lowered';
  readonly float16?: Float16Traits;
  /** Inputs that hold weights (quantized, pruned, clustered) when they are initializers. */
  readonly weightInputs?: readonly number[];
}

export function broadcastDims(a: Dim[], b: Dim[]): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const x = i - (r - a.length) >= 0 ? a[i - (r - a.length)]! : 1;
    const y = i - (r - b.length) >= 0 ? b[i - (r - b.length)]! : 1;
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (x === y) out.push(x);
    else if (typeof x === 'number' && typeof y === 'number') out.push(Math.max(x, y));
    else out.push(typeof x === 'number' ? x : typeof y === 'number' ? y : null);
  }
  return out;
}

/** Values of a small (<= 64 elements) int64/int32 tensor, else undefined. */
export function smallIntValues(t: TensorProto): number[] | undefined {
  const count = t.dims.reduce((a, b) => a * Number(b), 1);
  if (count <= 64 && (t.dataType === ONNX_TYPE.int64 || t.dataType === ONNX_TYPE.int32)) return Array.from(readTensorProtoNumbers(t));
  return undefined;
}

function norm(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

const { bool: BOOL, int64: INT64, int32: INT32, uint8: UINT8, float32: FLOAT, string: STRING } = ONNX_TYPE;
const attrInt = (n: NodeProto, name: string): number => Number(findAttr(n, name)?.i ?? 0);

// ---- type rules ----
const fixed =
  (...types: number[]) =>
  (): number[] =>
    types;
const firstThen =
  (...rest: number[]) =>
  (c: TypeCtx): number[] => [c.first, ...rest];
const typeOfInput =
  (i: number) =>
  (c: TypeCtx): number[] => [c.input(i)];

function bodyTypes(c: TypeCtx, g: GraphProto | undefined): number[] {
  if (!g) return [];
  const inner = inferElemTypes(g, c.outer());
  return g.output.map((v) => inner.get(v.name) ?? 0);
}

function constantType(a: AttributeProto | undefined): number {
  if (a?.t) return a.t.dataType;
  if (a?.name === 'value_float' || a?.name === 'value_floats') return FLOAT;
  if (a?.name === 'value_int' || a?.name === 'value_ints') return INT64;
  return STRING;
}

// ---- shape rules ----
type ShapeRule = (c: ShapeCtx) => (Dim[] | undefined)[];
const copy = (s: Dim[] | undefined): Dim[] | undefined => (s ? [...s] : undefined);
const sameShape: ShapeRule = (c) => [copy(c.shape(0))];
const sameShapeTwice: ShapeRule = (c) => [copy(c.shape(0)), copy(c.shape(0))];

const broadcast: ShapeRule = (c) => {
  const shapes = c.node.input.map((_, i) => c.shape(i));
  return [shapes.every((s) => s) ? shapes.reduce((a, b) => broadcastDims(a!, b!))! : undefined];
};

/** A 1-D shape of `s`'s static length filled with unknown dims, for a shape given at run time. */
const unknownOfLength = (s: Dim[] | undefined): Dim[] | undefined =>
  s?.[0] !== undefined && typeof s[0] === 'number' ? Array(s[0]).fill(null) : undefined;

const matmul: ShapeRule = (c) => {
  const a = c.shape(0),
    b = c.shape(1);
  if (!a || !b) return [undefined];
  const a2 = a.length === 1 ? [1, a[0]!] : a,
    b2 = b.length === 1 ? [b[0]!, 1] : b;
  const batch = broadcastDims(a2.slice(0, -2), b2.slice(0, -2));
  return [[...batch, ...(a.length === 1 ? [] : [a2[a2.length - 2]!]), ...(b.length === 1 ? [] : [b2[b2.length - 1]!])]];
};

const gemm: ShapeRule = (c) => {
  const a = c.shape(0),
    b = c.shape(1);
  const m = a ? a[intAttr(c.node, 'transA', 0) ? 1 : 0]! : null;
  const k = b ? b[intAttr(c.node, 'transB', 0) ? 0 : 1]! : null;
  return [[m, k]];
};

/** Conv, ConvTranspose, MaxPool, AveragePool: output spatial dims from kernel, strides, dilations, pads or auto_pad. */
const windowed: ShapeRule = (c) => {
  const n = c.node,
    op = n.opType,
    xs = c.shape(0);
  if (!xs) return [undefined];
  const w = op === 'Conv' || op === 'ConvTranspose' ? c.shape(1) : undefined;
  const spatial = xs.length - 2;
  const kernel = intsAttr(n, 'kernel_shape') ?? w?.slice(2).map((d) => (typeof d === 'number' ? d : NaN));
  const strides = intsAttr(n, 'strides') ?? Array(spatial).fill(1);
  const dil = intsAttr(n, 'dilations') ?? Array(spatial).fill(1);
  const pads = intsAttr(n, 'pads') ?? Array(2 * spatial).fill(0);
  const autoPad = findAttr(n, 'auto_pad') ? new TextDecoder().decode(findAttr(n, 'auto_pad')!.s) : 'NOTSET';
  const ceil = intAttr(n, 'ceil_mode', 0);
  let channels: Dim = xs[1]!;
  if (op === 'Conv') channels = w ? w[0]! : null;
  if (op === 'ConvTranspose') channels = w && typeof w[1] === 'number' ? w[1] * intAttr(n, 'group', 1) : null;
  const dims: Dim[] = [xs[0]!, channels];
  for (let i = 0; i < spatial; i++) {
    const d = xs[2 + i]!;
    const k = kernel?.[i];
    if (typeof d !== 'number' || k === undefined || Number.isNaN(k)) {
      dims.push(null);
      continue;
    }
    const ek = dil[i]! * (k - 1) + 1;
    if (op === 'ConvTranspose') {
      const outPad = intsAttr(n, 'output_padding')?.[i] ?? 0;
      dims.push(strides[i]! * (d - 1) + outPad + ek - pads[i]! - pads[i + spatial]!);
    } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') dims.push(Math.ceil(d / strides[i]!));
    else if (autoPad === 'VALID') dims.push(Math.floor((d - ek) / strides[i]!) + 1);
    else {
      const span = d + pads[i]! + pads[i + spatial]! - ek;
      dims.push((ceil ? Math.ceil(span / strides[i]!) : Math.floor(span / strides[i]!)) + 1);
    }
  }
  return n.output[1] ? [dims, dims] : [dims];
};

const globalPool: ShapeRule = (c) => {
  const xs = c.shape(0);
  return [xs ? [xs[0]!, xs[1]!, ...xs.slice(2).map(() => 1)] : undefined];
};

const flatten: ShapeRule = (c) => {
  const xs = c.shape(0);
  if (!xs) return [[null, null]];
  const axis = norm(intAttr(c.node, 'axis', 1), xs.length);
  const prod = (ds: Dim[]): Dim =>
    ds.every((d) => typeof d === 'number') ? (ds as number[]).reduce((a, b) => a * b, 1) : ds.length === 1 ? ds[0]! : null;
  return [[prod(xs.slice(0, axis)), prod(xs.slice(axis))]];
};

const reshape: ShapeRule = (c) => {
  const target = c.constant(1),
    xs = c.shape(0);
  if (!target) return [unknownOfLength(c.shape(1))];
  const dims: Dim[] = target.map((d, i) => (d === 0 ? (xs?.[i] ?? null) : d === -1 ? null : d));
  const known = xs?.every((d) => typeof d === 'number') ? (xs as number[]).reduce((a, b) => a * b, 1) : undefined;
  const minus = target.indexOf(-1);
  if (minus >= 0 && known !== undefined) {
    const rest = dims.filter((_, i) => i !== minus);
    if (rest.every((d) => typeof d === 'number')) dims[minus] = known / (rest as number[]).reduce((a, b) => a * b, 1);
  } else if (minus >= 0 && xs) {
    // [batch, ...static] -> [batch, -1] keeps the symbolic batch dim.
    if (dims.length === 2 && minus === 1 && dims[0] === xs[0] && xs.slice(1).every((d) => typeof d === 'number')) {
      dims[1] = (xs.slice(1) as number[]).reduce((a, b) => a * b, 1);
    }
  }
  return [dims];
};

const transpose: ShapeRule = (c) => {
  const xs = c.shape(0);
  if (!xs) return [undefined];
  const perm = intsAttr(c.node, 'perm') ?? xs.map((_, i) => xs.length - 1 - i);
  return [perm.map((p) => xs[p]!)];
};

const squeeze: ShapeRule = (c) => {
  const xs = c.shape(0);
  if (!xs) return [undefined];
  const axes = intsAttr(c.node, 'axes') ?? c.constant(1);
  const drop = new Set(axes ? axes.map((a) => norm(a, xs.length)) : xs.map((d, i) => (d === 1 ? i : -1)));
  return [xs.filter((_, i) => !drop.has(i))];
};

const unsqueeze: ShapeRule = (c) => {
  const xs = c.shape(0);
  const axes = intsAttr(c.node, 'axes') ?? c.constant(1);
  if (!xs || !axes) return [undefined];
  const r = xs.length + axes.length;
  const ins = new Set(axes.map((a) => norm(a, r)));
  const dims: Dim[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) dims.push(ins.has(i) ? 1 : xs[j++]!);
  return [dims];
};

const concat: ShapeRule = (c) => {
  const n = c.node;
  const shapes = n.input.map((_, i) => c.shape(i));
  if (!shapes.every((s) => s)) return [shapes.find((s) => s)?.map(() => null)];
  const consts = n.input.map((_, i) => c.constant(i));
  if (consts.every((v) => v))
    c.setConstant(
      0,
      consts.flatMap((v) => v!),
    );
  const axis = norm(intAttr(n, 'axis', 0), shapes[0]!.length);
  const dims = [...shapes[0]!];
  const parts = shapes.map((s) => s![axis]!);
  dims[axis] = parts.every((d) => typeof d === 'number') ? (parts as number[]).reduce((a, b) => a + b, 0) : null;
  return [dims];
};

const split: ShapeRule = (c) => {
  const n = c.node,
    xs = c.shape(0);
  if (!xs) return n.output.map(() => undefined);
  const axis = norm(intAttr(n, 'axis', 0), xs.length);
  const sizes = intsAttr(n, 'split') ?? c.constant(1);
  const d = xs[axis]!;
  return n.output.map((_, i) => {
    const dims = [...xs];
    dims[axis] = sizes ? sizes[i]! : typeof d === 'number' ? Math.ceil(d / n.output.length) : null;
    return dims;
  });
};

const slice: ShapeRule = (c) => {
  const xs = c.shape(0);
  if (!xs) return [undefined];
  const r = xs.length;
  const starts = c.constant(1),
    ends = c.constant(2),
    axes = c.constant(3) ?? starts?.map((_, i) => i),
    steps = c.constant(4);
  const dims = [...xs];
  if (starts && ends && axes) {
    axes.forEach((a0, i) => {
      const a = norm(a0, r);
      const d = xs[a]!;
      const step = steps?.[i] ?? 1;
      if (typeof d !== 'number') {
        dims[a] = null;
        return;
      }
      const clamp = (v: number): number => {
        if (v < 0) v += d;
        return step > 0 ? Math.min(Math.max(v, 0), d) : Math.min(Math.max(v, -1), d - 1);
      };
      dims[a] = Math.max(0, Math.ceil((clamp(ends[i]!) - clamp(starts[i]!)) / step));
    });
  } else if (axes) {
    for (const a of axes) dims[norm(a, r)] = null;
  } else dims.fill(null);
  return [dims];
};

const gather: ShapeRule = (c) => {
  const xs = c.shape(0),
    idx = c.shape(1);
  if (!xs || !idx) return [undefined];
  const axis = norm(intAttr(c.node, 'axis', 0), xs.length);
  const values = c.constant(0),
    at = c.constant(1);
  if (values && at && xs.length === 1)
    c.setConstant(
      0,
      at.map((i) => values[i < 0 ? i + values.length : i]!),
    );
  return [[...xs.slice(0, axis), ...idx, ...xs.slice(axis + 1)]];
};

const reduce: ShapeRule = (c) => {
  const n = c.node,
    xs = c.shape(0);
  if (!xs) return [undefined];
  const r = xs.length;
  const keep = intAttr(n, 'keepdims', 1);
  let axes = n.opType.startsWith('Arg') ? [intAttr(n, 'axis', 0)] : (intsAttr(n, 'axes') ?? c.constant(1));
  if (!axes && n.input[1]) return [keep ? xs.map(() => null) : undefined];
  if (!axes || axes.length === 0) {
    if (intAttr(n, 'noop_with_empty_axes', 0)) return [[...xs]];
    axes = xs.map((_, i) => i);
  }
  const set = new Set(axes.map((a) => norm(a, r)));
  return [keep ? xs.map((d, i) => (set.has(i) ? 1 : d)) : xs.filter((_, i) => !set.has(i))];
};

const shapeOp: ShapeRule = (c) => {
  const xs = c.shape(0);
  if (!xs) return [[null]];
  const r = xs.length;
  const start = norm(intAttr(c.node, 'start', 0), r),
    end = findAttr(c.node, 'end') ? norm(intAttr(c.node, 'end', r), r) : r;
  const dims = xs.slice(Math.max(0, start), Math.min(r, end));
  if (dims.every((d) => typeof d === 'number')) c.setConstant(0, dims as number[]);
  return [[dims.length]];
};

const constantOfShape: ShapeRule = (c) => {
  const s = c.constant(0);
  return [s ? [...s] : unknownOfLength(c.shape(0))];
};

const expand: ShapeRule = (c) => {
  const s = c.constant(1),
    xs = c.shape(0);
  return [s && xs ? broadcastDims(xs, s) : undefined];
};

const oneHot: ShapeRule = (c) => {
  const xs = c.shape(0);
  if (!xs) return [undefined];
  const dims = [...xs];
  dims.splice(norm(intAttr(c.node, 'axis', -1), xs.length + 1), 0, c.constant(1)?.[0] ?? null);
  return [dims];
};

const pad: ShapeRule = (c) => {
  const xs = c.shape(0),
    pads = c.constant(1),
    axes = c.constant(3);
  if (!xs || !pads) return [xs?.map(() => null)];
  const axisList = axes ? axes.map((a) => norm(a, xs.length)) : xs.map((_, i) => i);
  const dims = [...xs];
  axisList.forEach((a, i) => {
    const d = dims[a]!;
    dims[a] = typeof d === 'number' ? d + pads[i]! + pads[i + axisList.length]! : null;
  });
  return [dims];
};

const constant: ShapeRule = (c) => {
  const n = c.node;
  const a = findAttr(n, 'value');
  if (a?.t) {
    const v = smallIntValues(a.t);
    if (v) c.setConstant(0, v);
    return [a.t.dims.map(Number)];
  }
  if (findAttr(n, 'value_int')) {
    c.setConstant(0, [intAttr(n, 'value_int', 0)]);
    return [[]];
  }
  const ints = intsAttr(n, 'value_ints');
  if (ints) {
    c.setConstant(0, ints);
    return [[ints.length]];
  }
  if (findAttr(n, 'value_float')) return [[]];
  const floats = findAttr(n, 'value_floats');
  if (floats) return [[floats.floats.length]];
  return [];
};

// ---- the table ----
const table: Record<string, OpTraits> = {};

/** Adds `traits` to every op of `ops` (merged with what earlier groups said). */
function define(ops: readonly string[], traits: OpTraits): void {
  for (const op of ops) table[op] = { ...table[op], ...traits };
}

// elementwise ops keeping their input's shape
define([
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'Neg',
  'Erf',
  'Sqrt',
  'Exp',
  'Log',
  'Abs',
  'Clip',
  'HardSigmoid',
  'HardSwish',
  'Softmax',
  'LogSoftmax',
  'Identity',
  'Reciprocal',
  'Gelu',
  'Elu',
  'Softplus',
  'Round',
], { shape: sameShape, gradient: 'rule' });
define(['Selu', 'CumSum'], { shape: sameShape });
define(['Ceil', 'Floor', 'Sign'], { shape: sameShape, gradient: 'none' });
define(['Not'], { shape: sameShape, types: fixed(BOOL), gradient: 'none' });
define(['LayerNormalization', 'BatchNormalization', 'InstanceNormalization'], { shape: sameShape, gradient: 'lowered' });
define(['QuantizeLinear'], {
  shape: sameShape,
  gradient: 'rule',
  types: (c) => [c.node.input[2] ? c.input(2) : attrInt(c.node, 'output_dtype') || UINT8],
});
define(['DequantizeLinear'], { shape: sameShape, gradient: 'rule', types: typeOfInput(1) });
define(['Dropout'], { shape: sameShapeTwice, types: firstThen(BOOL), gradient: 'rule' });
define(['Cast'], { shape: sameShape, types: (c) => [attrInt(c.node, 'to')], gradient: 'rule', float16: { typeAttr: 'to' } });
define(['CastLike'], { shape: sameShape, types: typeOfInput(1) });

// broadcasting
define(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean'], { shape: broadcast, gradient: 'rule' });
define(['PRelu', 'Mod'], { shape: broadcast });
define(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor'], {
  shape: broadcast,
  types: fixed(BOOL),
  gradient: 'none',
});
define(['Where'], { shape: broadcast, types: typeOfInput(1), gradient: 'rule' });
define(['IsNaN', 'IsInf'], { shape: sameShape, types: fixed(BOOL), gradient: 'none' });

// linear algebra, convolution, pooling
define(['MatMul'], { shape: matmul, gradient: 'rule', weightInputs: [1] });
define(['Gemm'], { shape: gemm, gradient: 'rule', weightInputs: [1] });
define(['Conv', 'ConvTranspose'], { shape: windowed, gradient: 'rule', weightInputs: [1] });
define(['AveragePool'], { shape: windowed, gradient: 'rule' });
define(['MaxPool'], { shape: windowed, types: firstThen(INT64), gradient: 'rule' });
define(['GlobalAveragePool'], { shape: globalPool, gradient: 'rule' });
define(['GlobalMaxPool'], { shape: globalPool });
define(['MatMulInteger', 'ConvInteger'], { types: fixed(INT32) });
define(['DynamicQuantizeLinear'], { types: fixed(UINT8, FLOAT, UINT8) });
define(['LSTM', 'GRU', 'RNN'], { weightInputs: [1, 2] });

// data movement
define(['Flatten'], { shape: flatten, gradient: 'rule' });
define(['Reshape'], { shape: reshape, gradient: 'rule' });
define(['Transpose'], { shape: transpose, gradient: 'rule' });
define(['Squeeze'], { shape: squeeze, gradient: 'rule' });
define(['Unsqueeze'], { shape: unsqueeze, gradient: 'rule' });
define(['Concat'], { shape: concat, gradient: 'rule' });
define(['Split'], { shape: split, gradient: 'rule' });
define(['Slice'], { shape: slice, gradient: 'rule' });
define(['Gather'], { shape: gather, gradient: 'rule', weightInputs: [0] });
define(['GatherElements'], { shape: (c) => [copy(c.shape(1))], gradient: 'rule' });
define(['Expand'], { shape: expand, gradient: 'rule' });
define(['Pad'], { shape: pad, gradient: 'rule' });
define(['Resize'], { float16: { float32Inputs: [2] } });
define(['Upsample'], { float16: { float32Inputs: [1] } });

// reductions
define(['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin'], { shape: reduce, gradient: 'rule' });
define(['ReduceProd', 'ReduceL2', 'ReduceL1', 'ReduceSumSquare', 'ReduceLogSumExp'], { shape: reduce });
define(['ArgMax', 'ArgMin'], { shape: reduce, types: fixed(INT64), gradient: 'none' });

// shapes, indices and generated tensors
define(['Shape'], { shape: shapeOp, types: fixed(INT64), gradient: 'none' });
define(['Size'], { shape: () => [[]], types: fixed(INT64), gradient: 'none' });
define(['NonZero'], { types: fixed(INT64), gradient: 'none' });
define(['NonMaxSuppression'], { types: fixed(INT64) });
define(['TopK'], { types: firstThen(INT64) });
define(['Unique'], { types: firstThen(INT64, INT64, INT64) });
define(['Constant'], { shape: constant, types: (c) => [constantType(c.node.attribute[0])], gradient: 'none' });
define(['ConstantOfShape'], {
  shape: constantOfShape,
  gradient: 'none',
  types: (c) => [findAttr(c.node, 'value')?.t?.dataType ?? FLOAT],
});
define(['OneHot'], { shape: oneHot, types: typeOfInput(2), gradient: 'none' });
define(['Range', 'Bernoulli'], { gradient: 'none' });
define(['EyeLike', 'RandomNormalLike', 'RandomUniformLike'], {
  types: (c) => [attrInt(c.node, 'dtype') || c.first],
  gradient: 'none',
  float16: { typeAttr: 'dtype' },
});
define(['RandomNormal', 'RandomUniform'], {
  types: (c) => [Number(findAttr(c.node, 'dtype')?.i ?? FLOAT)],
  gradient: 'none',
  float16: { typeAttr: 'dtype' },
});
define(['Multinomial'], { float16: { typeAttr: 'dtype' } });

// control flow
define(['If'], { types: (c) => bodyTypes(c, findAttr(c.node, 'then_branch')?.g) });
define(['Loop'], { types: (c) => bodyTypes(c, findAttr(c.node, 'body')?.g).slice(1), float16: { keepFloat32: true } });
define(['Scan'], { types: (c) => bodyTypes(c, findAttr(c.node, 'body')?.g), float16: { keepFloat32: true } });

/** Every op type in the table, sorted. */
export const OP_TYPES: readonly string[] = Object.keys(table).sort();

const NONE: OpTraits = {};

/** Traits of a default-domain op type ({} for ops the table does not know). */
export function opTraitsOf(opType: string): OpTraits {
  return table[opType] ?? NONE;
}

/** Traits of a node: the table's for the default domain, {} for other domains. */
export function opTraits(n: NodeProto): OpTraits {
  return n.domain === '' || n.domain === 'ai.onnx' ? opTraitsOf(n.opType) : NONE;
}

/** Op types whose traits satisfy `pred`, sorted. */
export function opsWhere(pred: (t: OpTraits) => boolean): string[] {
  return OP_TYPES.filter((op) => pred(table[op]!));
}

/** Output element types of `n` by its type rule. */
export function outputTypes(
  n: NodeProto,
  traits: OpTraits,
  typeOf: (name: string) => number,
  outer: () => ReadonlyMap<string, number>,
): number[] {
  const first = typeOf(n.input.find((t) => t) ?? '');
  if (!traits.types) return n.output.map(() => first);
  return traits.types({ node: n, input: (i) => (n.input[i] ? typeOf(n.input[i]!) : 0), first, outer });
}

function declaredType(v: ValueInfoProto): number {
  return v.type?.value.case === 'tensorType' ? v.type.value.value.elemType : 0;
}

/**
 * Element types of every tensor of `graph`, subgraphs' outer scope in `outer`:
 * declared where declared (graph outputs' declarations win), else propagated
 * op by op with the type rules above.
 */
export function inferElemTypes(graph: GraphProto, outer: ReadonlyMap<string, number>): Map<string, number> {
  const types = new Map(outer);
  for (const v of graph.input) if (declaredType(v)) types.set(v.name, declaredType(v));
  for (const t of graph.initializer) types.set(t.name, t.dataType);
  for (const v of graph.valueInfo) if (declaredType(v)) types.set(v.name, declaredType(v));
  const typeOf = (t: string) => (t ? (types.get(t) ?? 0) : 0);
  for (const n of graph.node) {
    const outs = outputTypes(n, opTraits(n), typeOf, () => types);
    n.output.forEach((o, i) => {
      if (o && !types.has(o)) types.set(o, outs[i] ?? outs[0] ?? 0);
    });
  }
  for (const v of graph.output) if (declaredType(v)) types.set(v.name, declaredType(v));
  return types;
}
