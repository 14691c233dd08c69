/**
 * Energy per inference, estimated from the graph: for each node, the
 * operations it executes by kind (multiply-accumulates, multiplies, adds,
 * comparisons, transcendental) and by data type, from its inferred shapes;
 * and the bytes of weights and activations it reads and writes, each charged
 * by the memory a tensor of its size would live in. Priced by an energy
 * table (energy-table.ts; Horowitz 45 nm by default). The rules are written
 * out in docs/ALGORITHMS.md (Energy per inference); in short:
 *
 * - Quantized kernels are charged at their integer type: a Conv/Gemm/MatMul
 *   whose data and weight inputs both come from DequantizeLinear (QDQ), a
 *   ConvInteger/MatMulInteger/QLinearConv/QLinearMatMul, and MatMulNBits
 *   (int<bits>) count integer MACs accumulated in int32; the DequantizeLinear
 *   pairs around such a kernel are folded into it (it reads the integer
 *   tensors, and writes the integer tensor when a QuantizeLinear follows).
 * - Shape and index arithmetic (int64, bool) costs memory but no compute.
 * - Reshape-like ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity,
 *   Dropout, Shape, Size, Constant) are views: free.
 * - Dense counts are what onnxruntime executes; the ideally sparse estimate
 *   skips the MACs and weight reads of zero weights.
 *
 * Browser-safe: no node: imports.
 */
import { create } from '@bufbuild/protobuf';
import {
  GraphProtoSchema,
  NodeProtoSchema,
  TensorProtoSchema,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { intAttr, intsAttr, stringAttr, findAttr } from '../graph/attributes.js';
import { inferShapes, type ShapeInfo } from '../graph/shape-inference.js';
import { makeTensorProto, readTensorProtoNumbers } from '../graph/tensor-proto.js';
import { topologicalSort } from '../graph/toposort.js';
import { makeValueInfo, readValueInfo, type Dim } from '../graph/value-info.js';
import { cmpCost, HOROWITZ_45NM, transcendentalCost, type EnergyTable } from './energy-table.js';

export type OpKind = 'mac' | 'mul' | 'add' | 'cmp' | 'transcendental';
export const OP_KINDS: readonly OpKind[] = ['mac', 'mul', 'add', 'cmp', 'transcendental'];
export type OpCounts = Record<OpKind, number>;

/** The estimate of one node. */
export interface LayerEnergy {
  readonly node: string;
  readonly op: string;
  /** Type the arithmetic runs in (float32, int8 ...); absent for nodes with no arithmetic. */
  readonly type?: string;
  readonly ops: OpCounts;
  readonly weightBytes: number;
  /** Activation bytes read plus written. */
  readonly activationBytes: number;
  readonly computeUJ: number;
  readonly memoryUJ: number;
  /** Zeros skipped (only on nodes whose weights hold zeros). */
  readonly sparse?: { readonly macs: number; readonly weightBytes: number; readonly computeUJ: number; readonly memoryUJ: number };
}

export interface EnergyTotals {
  readonly totalUJ: number;
  readonly computeUJ: number;
  readonly memoryUJ: number;
  readonly macs: number;
  readonly weightBytes: number;
  readonly activationBytes: number;
}

export interface EnergyEstimate extends EnergyTotals {
  readonly table: string;
  /** MACs by the type they run in. */
  readonly macsByType: Record<string, number>;
  /** Compute energy by type, µJ. */
  readonly computeUJByType: Record<string, number>;
  /** Ideally sparse (zero weights skipped); present when it differs from dense. */
  readonly sparse?: EnergyTotals;
  /** Nodes left out: ops with no counting rule or tensors of unknown shape ("label (op)"). */
  readonly notCounted: readonly string[];
  readonly layers: readonly LayerEnergy[];
}

export interface EnergyOptions {
  readonly table?: EnergyTable;
  /** Where the table came from, for errors (default: the built-in table). */
  readonly tableFile?: string;
  /** Values of symbolic input dims; the rest are 1. */
  readonly dims?: Readonly<Record<string, number>>;
  /** Full shapes of inputs (win over dims). */
  readonly shapes?: Readonly<Record<string, readonly number[]>>;
  /** The model file, for errors. */
  readonly file?: string;
}

const MAC_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);
const INT_MAC_OPS = new Set(['ConvInteger', 'MatMulInteger', 'QLinearConv', 'QLinearMatMul', 'MatMulNBits']);
const VIEWS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout', 'Shape', 'Size', 'Constant']);
const MOVES = new Set([
  'Transpose',
  'Concat',
  'Slice',
  'Gather',
  'GatherElements',
  'GatherND',
  'Split',
  'Pad',
  'Expand',
  'Tile',
  'Cast',
  'CastLike',
  'ScatterND',
  'ScatterElements',
  'DepthToSpace',
  'SpaceToDepth',
  'ConstantOfShape',
  'Range',
  'NonZero',
  'OneHot',
  'Trilu',
]);
/** Per output element: elementwise ops. */
const ELEMENTWISE: Record<string, Partial<OpCounts>> = {
  Add: { add: 1 },
  Sub: { add: 1 },
  Sum: { add: 1 },
  Mean: { add: 1, mul: 1 },
  Neg: { add: 1 },
  Mul: { mul: 1 },
  Div: { transcendental: 1 },
  Pow: { transcendental: 1 },
  Sqrt: { transcendental: 1 },
  Reciprocal: { transcendental: 1 },
  Exp: { transcendental: 1 },
  Log: { transcendental: 1 },
  Tanh: { transcendental: 1 },
  Sigmoid: { transcendental: 1 },
  Erf: { transcendental: 1 },
  Softplus: { transcendental: 1 },
  Elu: { transcendental: 1, cmp: 1 },
  Selu: { transcendental: 1, cmp: 1, mul: 1 },
  Gelu: { transcendental: 1, mul: 2, add: 1 },
  Relu: { cmp: 1 },
  Abs: { cmp: 1 },
  Sign: { cmp: 1 },
  Round: { cmp: 1 },
  Floor: { cmp: 1 },
  Ceil: { cmp: 1 },
  Max: { cmp: 1 },
  Min: { cmp: 1 },
  Clip: { cmp: 2 },
  Equal: { cmp: 1 },
  Less: { cmp: 1 },
  Greater: { cmp: 1 },
  LessOrEqual: { cmp: 1 },
  GreaterOrEqual: { cmp: 1 },
  Where: { cmp: 1 },
  LeakyRelu: { cmp: 1, mul: 1 },
  PRelu: { cmp: 1, mul: 1 },
  HardSigmoid: { mul: 1, add: 1, cmp: 2 },
  HardSwish: { mul: 2, add: 1, cmp: 2 },
  BatchNormalization: { mul: 1, add: 1 },
  Softmax: { cmp: 1, add: 2, transcendental: 2 },
  LogSoftmax: { cmp: 1, add: 3, transcendental: 2 },
  DequantizeLinear: { mul: 1, add: 1 },
  QuantizeLinear: { mul: 1, add: 1, cmp: 3 },
};

/** Type the arithmetic of a tensor type runs in; undefined for index/bool types (no compute charged). */
export function computeType(elemType: number): string | undefined {
  switch (elemType) {
    case 1:
      return 'float32';
    case 10:
      return 'float16';
    case 16:
      return 'bfloat16';
    case 11:
      return 'float64';
    case 2:
    case 3:
      return 'int8';
    case 4:
    case 5:
      return 'int16';
    case 6:
    case 12:
      return 'int32';
    case 21:
    case 22:
      return 'int4';
    default:
      return undefined;
  }
}

const BITS: Record<number, number> = {
  1: 32,
  2: 8,
  3: 8,
  4: 16,
  5: 16,
  6: 32,
  7: 64,
  9: 8,
  10: 16,
  11: 64,
  12: 32,
  13: 64,
  16: 16,
  21: 4,
  22: 4,
};
const TYPE_BITS: Record<string, number> = { float32: 32, float16: 16, bfloat16: 16, float64: 64, int32: 32, int16: 16, int8: 8, int4: 4 };

const zeroCounts = (): OpCounts => ({ mac: 0, mul: 0, add: 0, cmp: 0, transcendental: 0 });
const prod = (s: readonly number[]): number => s.reduce((a, d) => a * d, 1);

/** Estimates the energy of one inference of `model` (batch 1 unless dims say otherwise). */
export function estimateEnergy(model: ModelProto, opts: EnergyOptions = {}): EnergyEstimate {
  const table = opts.table ?? HOROWITZ_45NM;
  const tableName = opts.tableFile ?? 'the default energy table';
  const graph = model.graph;
  if (!graph) throw new ModelpressError('E_GRAPH', 'the model has no graph', { file: opts.file });
  const { shadow, nbitsWeights } = shadowGraph(graph, opts);
  const si = inferWithFolding(shadow);
  const nodes = topologicalSort(graph);

  const constants = new Map<string, TensorProto>();
  for (const t of graph.initializer) constants.set(t.name, t);
  for (const n of graph.node) {
    const v = n.opType === 'Constant' ? findAttr(n, 'value')?.t : undefined;
    if (v && n.output[0]) constants.set(n.output[0], v);
  }
  const producer = new Map<string, NodeProto>();
  const consumers = new Map<string, NodeProto[]>();
  for (const n of graph.node) {
    for (const o of n.output) if (o) producer.set(o, n);
    for (const i of n.input) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const graphOutputs = new Set(graph.output.map((o) => o.name));
  const isDQ = (name: string) => producer.get(name)?.opType === 'DequantizeLinear';
  // A MAC op runs as an integer kernel when both its operands are dequantized.
  const quantizedMac = (n: NodeProto) => MAC_OPS.has(n.opType) && !!n.input[0] && !!n.input[1] && isDQ(n.input[0]) && isDQ(n.input[1]);
  const foldedDQ = (n: NodeProto) =>
    n.opType === 'DequantizeLinear' &&
    !graphOutputs.has(n.output[0] ?? '') &&
    (consumers.get(n.output[0] ?? '') ?? []).length > 0 &&
    (consumers.get(n.output[0] ?? '') ?? []).every(quantizedMac);
  const foldedQ = (n: NodeProto) => {
    if (n.opType !== 'QuantizeLinear') return false;
    const p = producer.get(n.input[0] ?? '');
    return !!p && quantizedMac(p) && (consumers.get(n.input[0] ?? '') ?? []).length === 1 && !graphOutputs.has(n.input[0] ?? '');
  };

  const elems = (name: string): number | undefined => {
    const c = constants.get(name);
    if (c) return prod(c.dims.map(Number));
    const s = si.staticShape(name);
    return s ? prod(s) : undefined;
  };
  const elemTypeOf = (name: string): number => constants.get(name)?.dataType ?? si.elemType(name);
  const bytesOf = (name: string): number | undefined => {
    const e = elems(name);
    const bits = BITS[elemTypeOf(name)];
    return e === undefined || bits === undefined ? undefined : Math.ceil((e * bits) / 8);
  };
  const accessPJ = (bytes: number): number => {
    if (bytes <= 0) return 0;
    const level = table.sram.find((l) => bytes <= l.bytes);
    return Math.ceil((bytes * 8) / table.accessBits) * (level ? level.pJ : table.dramPJ);
  };
  /** Tensors a node reads for input `name`: through a folded DequantizeLinear, its integer input and its scale/zero point. */
  const reads = (name: string): string[] => {
    const p = producer.get(name);
    if (p && foldedDQ(p)) return p.input.filter((x) => x);
    return [name];
  };

  const need = new Map<string, number>();
  const priced = (type: string, ops: OpCounts, integerMacs: boolean): number => {
    const c = table.compute[type];
    if (!c) return Number.NaN;
    let pj = ops.mul * c.mul + ops.add * c.add + ops.cmp * cmpCost(c) + ops.transcendental * transcendentalCost(c);
    if (ops.mac) {
      const acc = integerMacs ? table.compute.int32 : c;
      if (!acc) return Number.NaN;
      pj += ops.mac * (c.mul + acc.add);
    }
    return pj;
  };

  const layers: LayerEnergy[] = [];
  const notCounted: string[] = [];
  const macsByType: Record<string, number> = {};
  const computeUJByType: Record<string, number> = {};
  nodes.forEach((n, index) => {
    const label = n.name || `${n.opType}_${index}`;
    if (VIEWS.has(n.opType) || foldedDQ(n) || foldedQ(n)) return;
    let counted: Counted | undefined;
    try {
      counted = countOps(n, si, constants, nbitsWeights, quantizedMac(n), elemTypeOf, (x) => producer.get(x));
    } catch {
      counted = undefined; // a malformed node (missing inputs, odd attributes): listed, not guessed
    }
    if (!counted) {
      notCounted.push(`${label} (${n.opType})`);
      return;
    }
    // memory: inputs read once, outputs written once
    let weightBytes = 0;
    let activationBytes = 0;
    let memoryPJ = 0;
    let weightPJ = 0;
    let macWeightBytes = 0;
    let unknown = false;
    const seen = new Set<string>();
    for (const input of n.input) {
      if (!input) continue;
      for (const t of reads(input)) {
        if (seen.has(t)) continue;
        seen.add(t);
        const b = bytesOf(t);
        if (b === undefined) {
          unknown = true;
          continue;
        }
        const pj = accessPJ(b);
        memoryPJ += pj;
        if (constants.has(t)) {
          weightBytes += b;
          if (t === counted.weight) {
            macWeightBytes += b;
            weightPJ += pj;
          }
        } else activationBytes += b;
      }
    }
    for (const output of n.output) {
      if (!output) continue;
      const next = consumers.get(output) ?? [];
      const q = next.length === 1 && foldedQ(next[0]!) ? next[0]!.output[0]! : output;
      const b = bytesOf(q) ?? (n.opType === 'MaxPool' && output !== n.output[0] ? 0 : undefined);
      if (b === undefined) {
        unknown = true;
        continue;
      }
      memoryPJ += accessPJ(b);
      activationBytes += b;
    }
    if (unknown && counted.type === undefined && activationBytes === 0) {
      notCounted.push(`${label} (${n.opType})`);
      return;
    }
    if (unknown) notCounted.push(`${label} (${n.opType}, some tensors of unknown shape)`);
    let computePJ = 0;
    if (counted.type !== undefined && OP_KINDS.some((k) => counted.ops[k] > 0)) {
      computePJ = priced(counted.type, counted.ops, counted.integer);
      if (Number.isNaN(computePJ)) {
        const missing = table.compute[counted.type] ? 'int32' : counted.type;
        need.set(missing, (need.get(missing) ?? 0) + 1);
        computePJ = 0;
      }
      if (counted.ops.mac > 0) macsByType[counted.type] = (macsByType[counted.type] ?? 0) + counted.ops.mac;
      computeUJByType[counted.type] = (computeUJByType[counted.type] ?? 0) + computePJ / 1e6;
    }
    const layer: LayerEnergy = {
      node: label,
      op: n.opType,
      ...(counted.type === undefined ? {} : { type: counted.type }),
      ops: counted.ops,
      weightBytes,
      activationBytes,
      computeUJ: computePJ / 1e6,
      memoryUJ: memoryPJ / 1e6,
    };
    if (counted.zeroFraction > 0 && counted.ops.mac > 0) {
      const keep = 1 - counted.zeroFraction;
      const sparseOps = { ...counted.ops, mac: counted.ops.mac * keep };
      const sparseCompute = priced(counted.type!, sparseOps, counted.integer);
      // weight reads shrink with the zeros skipped; activations do not
      const weightPJSparse = weightPJ * keep;
      layers.push({
        ...layer,
        sparse: {
          macs: sparseOps.mac,
          weightBytes: weightBytes - macWeightBytes * (1 - keep),
          computeUJ: (Number.isNaN(sparseCompute) ? 0 : sparseCompute) / 1e6,
          memoryUJ: (memoryPJ - weightPJ + weightPJSparse) / 1e6,
        },
      });
    } else layers.push(layer);
  });
  if (need.size > 0) {
    const [dtype, count] = [...need][0]!;
    const what = dtype === 'int32' ? 'int32 (the accumulator of integer MACs)' : dtype;
    throw new ModelpressError(
      'E_ARG',
      `${tableName} has no compute figures for ${what}, which ${count} node(s) of ${opts.file ?? 'the model'} run in; add "compute": {"${dtype}": {"mul": <pJ>, "add": <pJ>}}`,
      opts.tableFile ? { file: opts.tableFile } : {},
    );
  }
  const dense = totals(layers, false);
  const sparse = totals(layers, true);
  return {
    table: table.name,
    ...dense,
    macsByType,
    computeUJByType,
    ...(sparse.totalUJ < dense.totalUJ ? { sparse } : {}),
    notCounted,
    layers,
  };
}

function totals(layers: readonly LayerEnergy[], sparse: boolean): EnergyTotals {
  let computeUJ = 0;
  let memoryUJ = 0;
  let macs = 0;
  let weightBytes = 0;
  let activationBytes = 0;
  for (const l of layers) {
    const s = sparse ? l.sparse : undefined;
    computeUJ += s ? s.computeUJ : l.computeUJ;
    memoryUJ += s ? s.memoryUJ : l.memoryUJ;
    macs += s ? s.macs : l.ops.mac;
    weightBytes += s ? s.weightBytes : l.weightBytes;
    activationBytes += l.activationBytes;
  }
  return { totalUJ: computeUJ + memoryUJ, computeUJ, memoryUJ, macs, weightBytes, activationBytes };
}

interface Counted {
  type: string | undefined;
  ops: OpCounts;
  integer: boolean;
  /** Fraction of the MAC weight that is zero (its quantized zero point for integer weights). */
  zeroFraction: number;
  /** The constant holding the MAC weight (through a DequantizeLinear), whose reads zeros save. */
  weight?: string;
}

/** Operation counts of one node; undefined when the op has no rule or its shapes are unknown. */
function countOps(
  n: NodeProto,
  si: ShapeInfo,
  constants: ReadonlyMap<string, TensorProto>,
  nbitsWeights: ReadonlyMap<NodeProto, { k: number; n: number; bits: number }>,
  quantized: boolean,
  elemTypeOf: (name: string) => number,
  producerOf: (name: string) => NodeProto | undefined,
): Counted | undefined {
  const ops = zeroCounts();
  const shape = (name: string | undefined): number[] | undefined => {
    if (!name) return undefined;
    const c = constants.get(name);
    return c ? c.dims.map(Number) : si.staticShape(name);
  };
  const out = shape(n.output[0]);
  const typeOfInput = (i: number): string | undefined => computeType(elemTypeOf(n.input[i] ?? ''));
  const op = n.opType;

  if (MAC_OPS.has(op) || INT_MAC_OPS.has(op)) {
    let macs: number | undefined;
    let biasAdds = 0;
    let type: string | undefined;
    let integer = false;
    // operands: [data, weight] input positions
    const [di, wi] = op === 'QLinearConv' || op === 'QLinearMatMul' ? [0, 3] : [0, 1];
    const data = n.input[di];
    const weight = n.input[wi];
    if (op === 'MatMulNBits') {
      const nb = nbitsWeights.get(n);
      const a = shape(data);
      if (!nb || !a) return undefined;
      macs = prod(a.slice(0, -1)) * nb.k * nb.n;
      type = computeType(nb.bits <= 4 ? 22 : 3);
      integer = true;
      if (n.input[5]) biasAdds = prod(a.slice(0, -1)) * nb.n;
    } else {
      const w = shape(weight);
      const x = shape(data);
      if (!out || !w || !x) return undefined;
      if (op === 'Conv' || op === 'ConvInteger' || op === 'QLinearConv') {
        macs = prod(out) * prod(w.slice(1));
        const bias = op === 'QLinearConv' ? n.input[8] : op === 'Conv' ? n.input[2] : undefined;
        if (bias) biasAdds = prod(out);
      } else if (op === 'ConvTranspose') {
        macs = prod(x) * (w[1] ?? 1) * prod(w.slice(2));
        if (n.input[2]) biasAdds = prod(out);
      } else if (op === 'Gemm') {
        const k = intAttr(n, 'transA', 0) ? x[0]! : x[x.length - 1]!;
        macs = prod(out) * k;
        if (n.input[2]) biasAdds = prod(out);
      } else {
        macs = prod(out) * (x[x.length - 1] ?? 1);
      }
      if (INT_MAC_OPS.has(op)) {
        integer = true;
        type = widest(computeType(elemTypeOf(data!)), computeType(elemTypeOf(weight!)));
      } else if (quantized) {
        integer = true;
        const src = (t: string) => producerOf(t)!.input[0]!;
        type = widest(computeType(elemTypeOf(src(data!))), computeType(elemTypeOf(src(weight!))));
      } else type = typeOfInput(0) ?? computeType(elemTypeOf(weight!));
    }
    ops.mac = macs;
    // a bias is added in the accumulator: counted as adds of the MAC type
    ops.add = biasAdds;
    const w = weight && producerOf(weight)?.opType === 'DequantizeLinear' ? producerOf(weight)!.input[0] : weight;
    return {
      type,
      ops,
      integer,
      zeroFraction: zeroFraction(n, wi, constants, producerOf, op === 'MatMulNBits'),
      ...(w ? { weight: w } : {}),
    };
  }
  if (MOVES.has(op)) return { type: undefined, ops, integer: false, zeroFraction: 0 };
  if (!out) return undefined;
  const outElems = prod(out);
  const type = typeOfInput(0);
  const per = ELEMENTWISE[op];
  if (per) {
    for (const k of OP_KINDS) ops[k] = (per[k] ?? 0) * outElems;
    if (op === 'Sum' || op === 'Mean') ops.add *= Math.max(1, n.input.filter((x) => x).length - 1);
    if (op === 'DequantizeLinear' || op === 'QuantizeLinear')
      return {
        type: computeType(elemTypeOf(op === 'DequantizeLinear' ? n.output[0]! : n.input[0]!)),
        ops,
        integer: false,
        zeroFraction: 0,
      };
    return { type, ops, integer: false, zeroFraction: 0 };
  }
  const inShape = shape(n.input[0]);
  switch (op) {
    case 'MaxPool':
    case 'AveragePool': {
      const k = intsAttr(n, 'kernel_shape') ?? [];
      const window = prod(k);
      if (op === 'MaxPool') ops.cmp = outElems * window;
      else {
        ops.add = outElems * window;
        ops.mul = outElems;
      }
      return { type, ops, integer: false, zeroFraction: 0 };
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
    case 'ReduceSum':
    case 'ReduceMean':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceL2':
    case 'ReduceSumSquare':
    case 'ReduceL1': {
      if (!inShape) return undefined;
      const inElems = prod(inShape);
      if (op === 'GlobalMaxPool' || op === 'ReduceMax' || op === 'ReduceMin') ops.cmp = inElems;
      else if (op === 'ReduceL2' || op === 'ReduceSumSquare') ops.mac = inElems;
      else ops.add = inElems;
      if (op === 'GlobalAveragePool' || op === 'ReduceMean') ops.mul = outElems;
      if (op === 'ReduceL2') ops.transcendental = outElems;
      return { type, ops, integer: false, zeroFraction: 0 };
    }
    case 'LayerNormalization':
    case 'InstanceNormalization': {
      // mean (add), subtract (add), variance (mac), scale and shift (mul, add), normalise (mul); one rsqrt per row
      const axis = op === 'LayerNormalization' ? intAttr(n, 'axis', -1) : 2;
      const a = axis < 0 ? out.length + axis : axis;
      const row = prod(out.slice(a));
      ops.add = 3 * outElems;
      ops.mul = 2 * outElems;
      ops.mac = outElems;
      ops.transcendental = row > 0 ? outElems / row : 0;
      return { type, ops, integer: false, zeroFraction: 0 };
    }
    case 'Resize':
    case 'Upsample': {
      // nearest is a gather; linear interpolates from 2 neighbours per resized axis
      const mode = stringAttr(n, 'mode', 'nearest');
      if (mode !== 'nearest' && inShape) {
        const axes = inShape.filter((d, i) => d !== out[i]).length;
        ops.mac = outElems * 2 ** axes;
      }
      return { type, ops, integer: false, zeroFraction: 0 };
    }
    default:
      return undefined;
  }
}

function widest(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return (TYPE_BITS[a] ?? 0) >= (TYPE_BITS[b] ?? 0) ? a : b;
}

/** Zero fraction of a MAC op's constant weight (through a DequantizeLinear: values equal to its zero point). */
function zeroFraction(
  n: NodeProto,
  wi: number,
  constants: ReadonlyMap<string, TensorProto>,
  producerOf: (name: string) => NodeProto | undefined,
  packed: boolean,
): number {
  let name = n.input[wi];
  if (!name) return 0;
  let zeroPoint = 0;
  const dq = producerOf(name);
  if (dq?.opType === 'DequantizeLinear') {
    name = dq.input[0]!;
    const zp = dq.input[2] ? constants.get(dq.input[2]) : undefined;
    if (zp) {
      const z = safeNumbers(zp);
      if (!z || z.some((v) => v !== z[0])) return 0;
      zeroPoint = z[0] ?? 0;
    }
  }
  if (packed) return 0;
  const t = constants.get(name);
  return t ? valueFraction(t, zeroPoint) : 0;
}

/**
 * Share of a tensor's elements equal to `value`, read in place from the raw
 * bytes for float32, float16 and 8-bit types (no float64 copy of a large
 * weight); other layouts through readTensorProtoNumbers up to 4 M elements,
 * beyond that (or with external data) counted as dense (0).
 */
function valueFraction(t: TensorProto, value: number): number {
  const raw = t.rawData;
  const n = t.dims.reduce((a, d) => a * Number(d), 1);
  if (n === 0) return 0;
  if (raw.length > 0) {
    let zeros = 0;
    if (t.dataType === 1 && raw.length === 4 * n) {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < n; i++) if (view.getFloat32(4 * i, true) === value) zeros++;
      return zeros / n;
    }
    if ((t.dataType === 2 || t.dataType === 3) && raw.length === n) {
      const target = t.dataType === 3 ? (value + 256) % 256 : value;
      for (let i = 0; i < n; i++) if (raw[i] === target) zeros++;
      return zeros / n;
    }
    if (t.dataType === 10 && raw.length === 2 * n && value === 0) {
      for (let i = 0; i < n; i++) if (((raw[2 * i]! | (raw[2 * i + 1]! << 8)) & 0x7fff) === 0) zeros++;
      return zeros / n;
    }
  }
  if (n > 4 * 1024 * 1024) return 0;
  const values = safeNumbers(t);
  if (!values || values.length === 0) return 0;
  let zeros = 0;
  for (const v of values) if (v === value) zeros++;
  return zeros / values.length;
}

function safeNumbers(t: TensorProto): Float64Array | undefined {
  try {
    return readTensorProtoNumbers(t);
  } catch {
    return undefined; // external data or strings: counted dense
  }
}

/**
 * Shape inference, re-run while it exposes shape arithmetic it does not
 * fold itself (Slice, Gather, Cast, Squeeze/Unsqueeze of known small integer
 * tensors, as exporters emit around Reshape): each such node becomes an
 * initializer holding its value, up to 8 rounds.
 */
function inferWithFolding(shadow: GraphProto): ShapeInfo {
  let si = inferShapes(shadow);
  for (let round = 0; round < 8; round++) {
    const folded = new Map<string, { values: number[]; dims: number[] }>();
    for (const n of shadow.node) {
      const o = n.output[0];
      if (!o || si.constants.has(o)) continue;
      const v = si.constants.get(n.input[0] ?? '');
      if (!v) continue;
      const c = (i: number) => si.constants.get(n.input[i] ?? '');
      let values: number[] | undefined;
      let dims: number[] | undefined;
      if (n.opType === 'Cast' || n.opType === 'Squeeze' || n.opType === 'Unsqueeze' || n.opType === 'Identity') {
        values = v;
        dims = si.staticShape(o);
      } else if (n.opType === 'Slice' && (si.rank(n.input[0]!) ?? 1) === 1) {
        const starts = c(1);
        const ends = c(2);
        const steps = c(4);
        if (starts?.length === 1 && ends?.length === 1 && (steps?.[0] ?? 1) === 1) {
          const clamp = (x: number) => Math.min(Math.max(x < 0 ? x + v.length : x, 0), v.length);
          values = v.slice(clamp(starts[0]!), clamp(ends[0]!));
          dims = [values.length];
        }
      } else if (n.opType === 'Gather' && intAttr(n, 'axis', 0) === 0 && (si.rank(n.input[0]!) ?? 1) === 1) {
        const idx = c(1);
        const idxShape = si.staticShape(n.input[1] ?? '');
        if (idx && idxShape) {
          values = idx.map((i) => v[i < 0 ? i + v.length : i]!);
          dims = idxShape;
        }
      }
      if (values && dims && values.every((x) => x !== undefined)) folded.set(o, { values, dims });
    }
    if (folded.size === 0) break;
    const keep = shadow.node.filter((n) => !folded.has(n.output[0] ?? ''));
    const extra = [...folded].map(([name, f]) => makeTensorProto(name, 'int64', f.dims, f.values));
    shadow = create(GraphProtoSchema, { ...shadow, node: keep, initializer: [...shadow.initializer, ...extra] });
    si = inferShapes(shadow);
  }
  return si;
}

/**
 * The graph shape inference runs on: inputs at their resolved shapes,
 * declared symbolic dims made unknown (inference fills them), and the
 * integer kernels rewritten to the float op of the same shape rule.
 */
function shadowGraph(
  graph: GraphProto,
  opts: EnergyOptions,
): { shadow: GraphProto; nbitsWeights: Map<NodeProto, { k: number; n: number; bits: number }> } {
  const dims = opts.dims ?? {};
  const resolve = (d: Dim): number => (typeof d === 'number' ? d : typeof d === 'string' ? (dims[d] ?? 1) : 1);
  const init = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.map((v) => {
    if (init.has(v.name)) return v;
    const r = readValueInfo(v);
    if (!r?.shape) return v;
    const full = opts.shapes?.[v.name];
    return makeValueInfo(v.name, r.elemType, full ? [...full] : r.shape.map(resolve));
  });
  const soften = (list: GraphProto['valueInfo']) =>
    list.map((v) => {
      const r = readValueInfo(v);
      if (!r?.shape || r.shape.every((d) => typeof d === 'number')) return v;
      return makeValueInfo(
        v.name,
        r.elemType,
        r.shape.map((d) => (typeof d === 'number' ? d : typeof d === 'string' && dims[d] ? dims[d]! : null)),
      );
    });
  const extra: TensorProto[] = [];
  const nbitsWeights = new Map<NodeProto, { k: number; n: number; bits: number }>();
  const nodes = graph.node.map((n) => {
    const renamed = (opType: string, input: (string | undefined)[]) =>
      create(NodeProtoSchema, { ...n, opType, domain: '', input: input.map((x) => x ?? '') });
    switch (n.opType) {
      case 'ConvInteger':
        return renamed('Conv', [n.input[0], n.input[1]]);
      case 'MatMulInteger':
        return renamed('MatMul', [n.input[0], n.input[1]]);
      case 'QLinearConv':
        return renamed('Conv', [n.input[0], n.input[3]]);
      case 'QLinearMatMul':
        return renamed('MatMul', [n.input[0], n.input[3]]);
      case 'MatMulNBits': {
        const k = intAttr(n, 'K', 0);
        const nn = intAttr(n, 'N', 0);
        nbitsWeights.set(n, { k, n: nn, bits: intAttr(n, 'bits', 4) });
        const w = `${n.output[0]}::energy_nbits_weight`;
        extra.push(create(TensorProtoSchema, { name: w, dims: [BigInt(k), BigInt(nn)], dataType: 1 }));
        return renamed('MatMul', [n.input[0], w]);
      }
      case 'Slice': {
        // opset < 10 gives starts/ends/axes as attributes; the shape rule reads inputs
        const starts = intsAttr(n, 'starts');
        const ends = intsAttr(n, 'ends');
        if (n.input.length !== 1 || !starts || !ends) return n;
        const axes = intsAttr(n, 'axes') ?? starts.map((_, i) => i);
        const names = (['starts', 'ends', 'axes'] as const).map((k) => `${n.output[0]}::energy_slice_${k}`);
        [starts, ends, axes].forEach((v, i) => extra.push(makeTensorProto(names[i]!, 'int64', [v.length], v)));
        return create(NodeProtoSchema, { ...n, input: [n.input[0]!, ...names], attribute: [] });
      }
      default:
        return n;
    }
  });
  const shadow = create(GraphProtoSchema, {
    ...graph,
    node: nodes,
    input: inputs,
    valueInfo: soften(graph.valueInfo),
    output: soften(graph.output),
    initializer: [...graph.initializer, ...extra],
  });
  return { shadow, nbitsWeights };
}
