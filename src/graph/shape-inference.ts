/**
 * Light static shape/dtype inference for the ops modelpress builds and
 * differentiates. Unknown dims are null, unknown ranks undefined; rules that
 * need a rank throw a clear error when it cannot be inferred, everything else
 * falls back to run-time Shape ops.
 */
import type { GraphProto, NodeProto, TensorProto } from 'onnx-buf';
import { ONNX_TYPE } from '../core/dtypes.js';
import { findAttr, intAttr, intsAttr } from './attributes.js';
import { readTensorProtoNumbers } from './tensor-proto.js';
import { topologicalSort } from './toposort.js';
import { readValueInfo, type Dim } from './value-info.js';

export interface TensorInfo {
  /** ONNX elem type; 0 when unknown. */
  elemType: number;
  /** Dims; undefined when the rank is unknown. */
  shape: Dim[] | undefined;
}


export class ShapeInfo {
  readonly info = new Map<string, TensorInfo>();
  /** Values of small constant integer tensors (initializers, Constant nodes, Shape of static dims). */
  readonly constants = new Map<string, number[]>();

  get(name: string): TensorInfo | undefined {
    return this.info.get(name);
  }
  rank(name: string): number | undefined {
    return this.info.get(name)?.shape?.length;
  }
  elemType(name: string): number {
    return this.info.get(name)?.elemType ?? 0;
  }
  /** Static dims if every dim is a known number. */
  staticShape(name: string): number[] | undefined {
    const s = this.info.get(name)?.shape;
    return s && s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
  }
  set(name: string, elemType: number, shape: Dim[] | undefined): void {
    if (!name) return;
    const prev = this.info.get(name);
    // Declared value_info wins over inference when it is more precise.
    if (prev && prev.shape && (!shape || prev.shape.every((d) => d !== null))) {
      if (!prev.elemType) prev.elemType = elemType;
      return;
    }
    this.info.set(name, { elemType: elemType || prev?.elemType || 0, shape });
  }
}

/** Infers shapes and dtypes of every tensor of `graph` it can. */
export function inferShapes(graph: GraphProto): ShapeInfo {
  const si = new ShapeInfo();
  for (const t of graph.initializer) {
    si.info.set(t.name, { elemType: t.dataType, shape: t.dims.map(Number) });
    recordConstant(si, t);
  }
  for (const v of [...graph.input, ...graph.valueInfo, ...graph.output]) {
    if (si.info.has(v.name)) continue;
    const r = readValueInfo(v);
    if (r && (r.shape || r.elemType)) si.info.set(v.name, { elemType: r.elemType, shape: r.shape });
  }
  for (const n of topologicalSort(graph)) {
    try {
      inferNode(si, n);
    } catch {
      // Inference is best effort: a rule that needs the missing info says so.
    }
  }
  return si;
}

function recordConstant(si: ShapeInfo, t: TensorProto): void {
  const count = t.dims.reduce((a, b) => a * Number(b), 1);
  if (count <= 64 && (t.dataType === ONNX_TYPE.int64 || t.dataType === ONNX_TYPE.int32)) si.constants.set(t.name, Array.from(readTensorProtoNumbers(t)));
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

const SAME_SHAPE = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Neg', 'Erf', 'Sqrt', 'Exp', 'Log', 'Abs', 'Clip', 'HardSigmoid', 'HardSwish',
  'Softmax', 'LogSoftmax', 'Identity', 'Round', 'Reciprocal', 'Ceil', 'Floor', 'Sign', 'Gelu', 'Elu', 'Selu', 'Softplus',
  'LayerNormalization', 'BatchNormalization', 'InstanceNormalization', 'QuantizeLinear', 'DequantizeLinear', 'Not', 'CumSum',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'PRelu', 'Mod']);
const COMPARE = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor']);
const REDUCE = new Set(['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL2', 'ReduceL1', 'ReduceSumSquare', 'ReduceLogSumExp', 'ArgMax', 'ArgMin']);

function norm(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function inferNode(si: ShapeInfo, n: NodeProto): void {
  const inp = (i: number): TensorInfo | undefined => (n.input[i] ? si.get(n.input[i]!) : undefined);
  const x = inp(0);
  const out0 = n.output[0] ?? '';
  const op = n.opType;
  const cst = (i: number): number[] | undefined => (n.input[i] ? si.constants.get(n.input[i]!) : undefined);

  if (op === 'Constant') {
    const a = findAttr(n, 'value');
    if (a?.t) {
      si.set(out0, a.t.dataType, a.t.dims.map(Number));
      const copy = { ...a.t, name: out0 } as TensorProto;
      recordConstant(si, copy);
    } else if (findAttr(n, 'value_int')) {
      si.set(out0, ONNX_TYPE.int64, []);
      si.constants.set(out0, [intAttr(n, 'value_int', 0)]);
    } else if (findAttr(n, 'value_ints')) {
      const v = intsAttr(n, 'value_ints')!;
      si.set(out0, ONNX_TYPE.int64, [v.length]);
      si.constants.set(out0, v);
    } else if (findAttr(n, 'value_float')) si.set(out0, ONNX_TYPE.float32, []);
    else if (findAttr(n, 'value_floats')) si.set(out0, ONNX_TYPE.float32, [findAttr(n, 'value_floats')!.floats.length]);
    return;
  }
  if (SAME_SHAPE.has(op)) {
    let et = x?.elemType ?? 0;
    if (op === 'QuantizeLinear') et = inp(2)?.elemType ?? ONNX_TYPE.uint8;
    if (op === 'DequantizeLinear') et = inp(1)?.elemType ?? ONNX_TYPE.float32;
    si.set(out0, et, x?.shape ? [...x.shape] : undefined);
    if (op === 'BatchNormalization' || op === 'LayerNormalization') {
      // Extra outputs (running stats / mean, inv-std) are not used by the rules.
    }
    return;
  }
  if (op === 'Dropout') {
    si.set(out0, x?.elemType ?? 0, x?.shape ? [...x.shape] : undefined);
    if (n.output[1]) si.set(n.output[1], ONNX_TYPE.bool, x?.shape ? [...x.shape] : undefined);
    return;
  }
  if (op === 'Cast') {
    si.set(out0, intAttr(n, 'to', 0), x?.shape ? [...x.shape] : undefined);
    return;
  }
  if (op === 'CastLike') {
    si.set(out0, inp(1)?.elemType ?? 0, x?.shape ? [...x.shape] : undefined);
    return;
  }
  if (BROADCAST.has(op) || COMPARE.has(op) || op === 'Where') {
    const ins = n.input.map((s) => si.get(s));
    const shapes = ins.map((t) => t?.shape);
    const shape = shapes.every((s) => s) ? shapes.reduce((a, b) => broadcastDims(a!, b!))! : undefined;
    const et = COMPARE.has(op) ? ONNX_TYPE.bool : op === 'Where' ? ins[1]?.elemType ?? 0 : ins[0]?.elemType ?? 0;
    si.set(out0, et, shape);
    return;
  }
  if (op === 'MatMul') {
    const a = x?.shape, b = inp(1)?.shape;
    if (!a || !b) return si.set(out0, x?.elemType ?? 0, undefined);
    const a2 = a.length === 1 ? [1, a[0]!] : a, b2 = b.length === 1 ? [b[0]!, 1] : b;
    const batch = broadcastDims(a2.slice(0, -2), b2.slice(0, -2));
    const shape = [...batch, ...(a.length === 1 ? [] : [a2[a2.length - 2]!]), ...(b.length === 1 ? [] : [b2[b2.length - 1]!])];
    return si.set(out0, x?.elemType ?? 0, shape);
  }
  if (op === 'Gemm') {
    const a = x?.shape, b = inp(1)?.shape;
    const m = a ? a[intAttr(n, 'transA', 0) ? 1 : 0]! : null;
    const k = b ? b[intAttr(n, 'transB', 0) ? 0 : 1]! : null;
    return si.set(out0, x?.elemType ?? 0, [m, k]);
  }
  if (op === 'Conv' || op === 'MaxPool' || op === 'AveragePool' || op === 'ConvTranspose') {
    if (!x?.shape) return si.set(out0, x?.elemType ?? 0, undefined);
    const w = op === 'Conv' || op === 'ConvTranspose' ? inp(1)?.shape : undefined;
    const spatial = x.shape.length - 2;
    const kernel = intsAttr(n, 'kernel_shape') ?? w?.slice(2).map((d) => (typeof d === 'number' ? d : NaN));
    const strides = intsAttr(n, 'strides') ?? Array(spatial).fill(1);
    const dil = intsAttr(n, 'dilations') ?? Array(spatial).fill(1);
    const pads = intsAttr(n, 'pads') ?? Array(2 * spatial).fill(0);
    const autoPad = findAttr(n, 'auto_pad') ? new TextDecoder().decode(findAttr(n, 'auto_pad')!.s) : 'NOTSET';
    const ceil = intAttr(n, 'ceil_mode', 0);
    let channels: Dim = x.shape[1]!;
    if (op === 'Conv') channels = w ? w[0]! : null;
    if (op === 'ConvTranspose') channels = w && typeof w[1] === 'number' ? w[1] * intAttr(n, 'group', 1) : null;
    const dims: Dim[] = [x.shape[0]!, channels];
    for (let i = 0; i < spatial; i++) {
      const d = x.shape[2 + i]!;
      const k = kernel?.[i];
      if (typeof d !== 'number' || k === undefined || Number.isNaN(k)) { dims.push(null); continue; }
      const ek = dil[i]! * (k - 1) + 1;
      if (op === 'ConvTranspose') {
        const op_ = intsAttr(n, 'output_padding')?.[i] ?? 0;
        dims.push(strides[i]! * (d - 1) + op_ + ek - pads[i]! - pads[i + spatial]!);
      } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') dims.push(Math.ceil(d / strides[i]!));
      else if (autoPad === 'VALID') dims.push(Math.floor((d - ek) / strides[i]!) + 1);
      else {
        const span = d + pads[i]! + pads[i + spatial]! - ek;
        dims.push((ceil ? Math.ceil(span / strides[i]!) : Math.floor(span / strides[i]!)) + 1);
      }
    }
    si.set(out0, x.elemType, dims);
    if (n.output[1]) si.set(n.output[1], ONNX_TYPE.int64, dims);
    return;
  }
  if (op === 'GlobalAveragePool' || op === 'GlobalMaxPool') {
    return si.set(out0, x?.elemType ?? 0, x?.shape ? [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)] : undefined);
  }
  if (op === 'Flatten') {
    if (!x?.shape) return si.set(out0, x?.elemType ?? 0, [null, null]);
    const axis = norm(intAttr(n, 'axis', 1), x.shape.length);
    const prod = (ds: Dim[]): Dim => (ds.every((d) => typeof d === 'number') ? (ds as number[]).reduce((a, b) => a * b, 1) : ds.length === 1 ? ds[0]! : null);
    return si.set(out0, x.elemType, [prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))]);
  }
  if (op === 'Reshape') {
    const target = cst(1);
    if (!target) return si.set(out0, x?.elemType ?? 0, inp(1)?.shape?.[0] !== undefined && typeof inp(1)!.shape![0] === 'number' ? Array(inp(1)!.shape![0] as number).fill(null) : undefined);
    const dims: Dim[] = target.map((d, i) => (d === 0 ? x?.shape?.[i] ?? null : d === -1 ? null : d));
    const known = x?.shape?.every((d) => typeof d === 'number') ? (x.shape as number[]).reduce((a, b) => a * b, 1) : undefined;
    const minus = target.indexOf(-1);
    if (minus >= 0 && known !== undefined) {
      const rest = dims.filter((_, i) => i !== minus);
      if (rest.every((d) => typeof d === 'number')) dims[minus] = known / (rest as number[]).reduce((a, b) => a * b, 1);
    } else if (minus >= 0 && x?.shape) {
      // [batch, ...static] -> [batch, -1] keeps the symbolic batch dim.
      const xs = x.shape;
      if (dims.length === 2 && minus === 1 && dims[0] === xs[0] && xs.slice(1).every((d) => typeof d === 'number')) dims[1] = (xs.slice(1) as number[]).reduce((a, b) => a * b, 1);
    }
    return si.set(out0, x?.elemType ?? 0, dims);
  }
  if (op === 'Transpose') {
    if (!x?.shape) return si.set(out0, x?.elemType ?? 0, undefined);
    const perm = intsAttr(n, 'perm') ?? x.shape.map((_, i) => x.shape!.length - 1 - i);
    return si.set(out0, x.elemType, perm.map((p) => x.shape![p]!));
  }
  if (op === 'Squeeze' || op === 'Unsqueeze') {
    const axes = intsAttr(n, 'axes') ?? cst(1);
    if (!x?.shape || (!axes && op === 'Unsqueeze')) return si.set(out0, x?.elemType ?? 0, undefined);
    if (op === 'Squeeze') {
      const r = x.shape.length;
      const drop = new Set(axes ? axes.map((a) => norm(a, r)) : x.shape.map((d, i) => (d === 1 ? i : -1)));
      return si.set(out0, x.elemType, x.shape.filter((_, i) => !drop.has(i)));
    }
    const r = x.shape.length + axes!.length;
    const ins = new Set(axes!.map((a) => norm(a, r)));
    const dims: Dim[] = [];
    let j = 0;
    for (let i = 0; i < r; i++) dims.push(ins.has(i) ? 1 : x.shape[j++]!);
    return si.set(out0, x.elemType, dims);
  }
  if (op === 'Concat') {
    const ins = n.input.map((s) => si.get(s));
    if (!ins.every((t) => t?.shape)) return si.set(out0, ins[0]?.elemType ?? 0, ins.find((t) => t?.shape)?.shape?.map(() => null));
    const r = ins[0]!.shape!.length;
    const axis = norm(intAttr(n, 'axis', 0), r);
    const dims = [...ins[0]!.shape!];
    const parts = ins.map((t) => t!.shape![axis]!);
    dims[axis] = parts.every((d) => typeof d === 'number') ? (parts as number[]).reduce((a, b) => a + b, 0) : null;
    si.set(out0, ins[0]!.elemType, dims);
    if (ins.every((_, i) => si.constants.has(n.input[i]!))) si.constants.set(out0, n.input.flatMap((s) => si.constants.get(s)!));
    return;
  }
  if (op === 'Split') {
    if (!x?.shape) return n.output.forEach((o) => si.set(o, x?.elemType ?? 0, undefined));
    const axis = norm(intAttr(n, 'axis', 0), x.shape.length);
    const sizes = intsAttr(n, 'split') ?? cst(1);
    const d = x.shape[axis]!;
    n.output.forEach((o, i) => {
      const dims = [...x.shape!];
      dims[axis] = sizes ? sizes[i]! : typeof d === 'number' ? Math.ceil(d / n.output.length) : null;
      si.set(o, x.elemType, dims);
    });
    return;
  }
  if (op === 'Slice') {
    if (!x?.shape) return si.set(out0, x?.elemType ?? 0, undefined);
    const r = x.shape.length;
    const starts = cst(1), ends = cst(2), axes = cst(3) ?? starts?.map((_, i) => i), steps = cst(4);
    const dims = [...x.shape];
    if (starts && ends && axes) {
      axes.forEach((a0, i) => {
        const a = norm(a0, r);
        const d = x.shape![a]!;
        const step = steps?.[i] ?? 1;
        if (typeof d !== 'number') { dims[a] = null; return; }
        const clampS = (v: number): number => { if (v < 0) v += d; return step > 0 ? Math.min(Math.max(v, 0), d) : Math.min(Math.max(v, -1), d - 1); };
        const s = clampS(starts[i]!), e = clampS(ends[i]!);
        dims[a] = Math.max(0, Math.ceil((e - s) / step));
      });
    } else if (axes) axes.forEach((a) => (dims[norm(a, r)] = null));
    else dims.fill(null);
    return si.set(out0, x.elemType, dims);
  }
  if (op === 'Gather') {
    const idx = inp(1)?.shape;
    if (!x?.shape || !idx) return si.set(out0, x?.elemType ?? 0, undefined);
    const axis = norm(intAttr(n, 'axis', 0), x.shape.length);
    si.set(out0, x.elemType, [...x.shape.slice(0, axis), ...idx, ...x.shape.slice(axis + 1)]);
    const c = cst(0), ci = cst(1);
    if (c && ci && x.shape.length === 1) si.constants.set(out0, ci.map((i) => c[i < 0 ? i + c.length : i]!));
    return;
  }
  if (op === 'GatherElements') return si.set(out0, x?.elemType ?? 0, inp(1)?.shape ? [...inp(1)!.shape!] : undefined);
  if (REDUCE.has(op)) {
    const et = op.startsWith('Arg') ? ONNX_TYPE.int64 : x?.elemType ?? 0;
    if (!x?.shape) return si.set(out0, et, undefined);
    const r = x.shape.length;
    const keep = intAttr(n, 'keepdims', 1);
    let axes = op.startsWith('Arg') ? [intAttr(n, 'axis', 0)] : intsAttr(n, 'axes') ?? cst(1);
    if (!axes && n.input[1]) return si.set(out0, et, keep ? x.shape.map(() => null) : undefined);
    if (!axes || axes.length === 0) {
      if (intAttr(n, 'noop_with_empty_axes', 0)) return si.set(out0, et, [...x.shape]);
      axes = x.shape.map((_, i) => i);
    }
    const set = new Set(axes.map((a) => norm(a, r)));
    return si.set(out0, et, keep ? x.shape.map((d, i) => (set.has(i) ? 1 : d)) : x.shape.filter((_, i) => !set.has(i)));
  }
  if (op === 'Shape') {
    if (!x?.shape) return si.set(out0, ONNX_TYPE.int64, [null]);
    const r = x.shape.length;
    const start = norm(intAttr(n, 'start', 0), r), end = findAttr(n, 'end') ? norm(intAttr(n, 'end', r), r) : r;
    const dims = x.shape.slice(Math.max(0, start), Math.min(r, end));
    si.set(out0, ONNX_TYPE.int64, [dims.length]);
    if (dims.every((d) => typeof d === 'number')) si.constants.set(out0, dims as number[]);
    return;
  }
  if (op === 'Size') return si.set(out0, ONNX_TYPE.int64, []);
  if (op === 'ConstantOfShape') {
    const s = cst(0);
    const v = findAttr(n, 'value')?.t;
    return si.set(out0, v ? v.dataType : ONNX_TYPE.float32, s ? [...s] : inp(0)?.shape?.[0] !== undefined && typeof inp(0)!.shape![0] === 'number' ? Array(inp(0)!.shape![0] as number).fill(null) : undefined);
  }
  if (op === 'Expand') {
    const s = cst(1);
    return si.set(out0, x?.elemType ?? 0, s && x?.shape ? broadcastDims(x.shape, s) : undefined);
  }
  if (op === 'OneHot') {
    if (!x?.shape) return si.set(out0, inp(2)?.elemType ?? 0, undefined);
    const depth = cst(1)?.[0] ?? null;
    const r = x.shape.length + 1;
    const axis = norm(intAttr(n, 'axis', -1), r);
    const dims = [...x.shape];
    dims.splice(axis, 0, depth);
    return si.set(out0, inp(2)?.elemType ?? 0, dims);
  }
  if (op === 'Pad') {
    const pads = cst(1);
    const axes = cst(3);
    if (!x?.shape || !pads) return si.set(out0, x?.elemType ?? 0, x?.shape?.map(() => null));
    const r = x.shape.length;
    const axisList = axes ? axes.map((a) => norm(a, r)) : x.shape.map((_, i) => i);
    const dims = [...x.shape];
    axisList.forEach((a, i) => {
      const d = dims[a]!;
      dims[a] = typeof d === 'number' ? d + pads[i]! + pads[i + axisList.length]! : null;
    });
    return si.set(out0, x.elemType, dims);
  }
  // Unknown op: outputs of unknown shape; most ops keep their first input's dtype.
  for (const o of n.output) si.set(o, x?.elemType ?? 0, undefined);
}
