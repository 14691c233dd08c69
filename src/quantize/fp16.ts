/**
 * float16 weights AND compute: every float32 tensor of the graph becomes
 * float16 except around ops kept in float32, with Casts wherever a tensor
 * crosses between the two. The main graph's inputs and outputs keep their
 * float32 types (Casts at the boundary); If branches are converted with
 * their parent. Ops kept in float32: opts.keepOps, ops outside the default
 * domain, Loop/Scan (bodies untouched), and, when a runtime is supplied,
 * every op the runtime reports it has no float16 kernel for: the scheme
 * opens the converted model, reads "Could not find an implementation for
 * X", keeps X in float32 and tries again, a bounded number of times.
 */
import type { GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from 'onnx-buf';
import { ONNX_TYPE } from '../core/dtypes.js';
import { ModelpressError } from '../core/errors.js';
import { float32ToFloat16 } from '../core/float16.js';
import { makeTensor, toFloat32 } from '../core/tensor.js';
import { cloneSharingBytes } from '../formats/onnx/clone.js';
import { tensorFromProto, tensorToProto } from '../formats/onnx/tensor-proto.js';
import { writeOnnx } from '../formats/onnx/write.js';
import { makeAttribute } from '../graph/attributes.js';
import { inferElemTypes, opsWhere, opTraits } from '../graph/op-traits.js';
import { NameGen } from '../graph/names.js';
import type { RunnerFactory } from '../runtime/runner.js';
import { makeNode } from './qdq-helpers.js';
import type { QuantizeOptions, SchemeResult, TensorReport } from './types.js';
import { allNames } from '../graph/weights.js';
import { guardFp16 } from './fp16-guard.js';

const F16_MAX = 65504;

/**
 * Ops kept in float32 by default: those the op-traits table marks as having
 * no float16 kernel in onnxruntime's CPU provider (float16.noKernel), so
 * converting them only adds Casts. The probe loop on the PP-OCR and silero
 * models with onnxruntime-node 1.2x on x86-64 found none; the probe finds
 * any a model needs.
 */
export const DEFAULT_FP32_OPS: readonly string[] = opsWhere((t) => t.float16?.noKernel === true);

export interface Fp16Options extends QuantizeOptions {
  /** Opens a model to probe for missing float16 kernels (createNodeRunner in Node). Without it only keepOps + DEFAULT_FP32_OPS are kept. */
  readonly openRunner?: RunnerFactory;
  /** Probe rounds before giving up (default 12). */
  readonly maxProbeRounds?: number;
  /** Start from DEFAULT_FP32_OPS (default true). */
  readonly defaultKeepOps?: boolean;
  /**
   * Constants beyond ±65504: 'keep' (default) leaves them and the nodes
   * reading them in float32; 'clamp' clamps them to ±65504. Either way the
   * notes count them.
   */
  readonly overflow?: 'keep' | 'clamp';
  /** Main-graph nodes kept in float32, named by their first output (the fp16 guard's choice, see ./fp16-guard.ts). */
  readonly keepNodes?: ReadonlySet<string>;
}

/**
 * float16 conversion of `input` (not mutated). Reads opts.keepOps,
 * opts.openRunner (optional probe), opts.overflow, opts.maxProbeRounds, opts.defaultKeepOps,
 * opts.file. Notes say how many values were clamped to ±65504 and which ops
 * stayed float32 and why.
 */
export async function convertFp16(input: ModelProto, opts: Fp16Options = {}): Promise<SchemeResult> {
  if (opts.fp16Guard !== false && opts.openRunner && opts.keepNodes === undefined)
    return guardFp16(input, opts, (keepNodes) => convertFp16(input, { ...opts, keepNodes }));
  const keep = new Set([...(opts.defaultKeepOps === false ? [] : DEFAULT_FP32_OPS), ...(opts.keepOps ?? [])]);
  const found: string[] = [];
  const rounds = opts.maxProbeRounds ?? 12;
  for (let round = 0; ; round++) {
    const result = convertFp16Once(input, keep, opts.file, opts.overflow ?? 'keep', opts.keepNodes);
    if (!opts.openRunner) return result;
    const missing = await probe(result.model, opts.openRunner, opts.file);
    if (missing === undefined) {
      const notes = [...result.notes];
      if (found.length) notes.push(`kept in float32 because onnxruntime has no float16 kernel: ${found.join(', ')}`);
      return { ...result, notes };
    }
    if (keep.has(missing) || round + 1 >= rounds) {
      throw new ModelpressError(
        'E_UNSUPPORTED',
        `fp16: onnxruntime still cannot load the converted model after keeping ${[...keep].join(', ') || 'nothing'} in float32: no float16 kernel for ${missing}`,
        opts.file === undefined ? {} : { file: opts.file },
      );
    }
    keep.add(missing);
    found.push(missing);
  }
}

/** The op onnxruntime lacks a kernel for, or undefined when the model loads. Other load errors are thrown. */
async function probe(model: ModelProto, openRunner: RunnerFactory, file: string | undefined): Promise<string | undefined> {
  const bytes = writeOnnx(model);
  let text: string | undefined;
  let cause: unknown;
  try {
    const runner = await openRunner(bytes, { graphOptimization: 'disabled' });
    await runner.dispose();
  } catch (e) {
    cause = e;
    text = `${e instanceof Error ? e.message : String(e)} ${e instanceof Error && e.cause instanceof Error ? e.cause.message : ''}`;
  }
  if (text === undefined) return undefined;
  const m = /Could not find an implementation for (\w+)\(\d+\)/.exec(text);
  if (m) return m[1]!;
  const where = file === undefined ? {} : { file };
  throw new ModelpressError(
    'E_GRAPH',
    `fp16: onnxruntime cannot load the converted model: ${text.trim().split('\n')[0]}`,
    cause === undefined ? where : { ...where, cause },
  );
}

type Domain = 'f16' | 'f32';

/** One conversion pass with a fixed set of ops kept in float32 (no runtime involved). */
export function convertFp16Once(
  input: ModelProto,
  keep: ReadonlySet<string>,
  file?: string,
  overflow: 'keep' | 'clamp' = 'keep',
  keepNodes: ReadonlySet<string> = new Set(),
): SchemeResult {
  const model = cloneSharingBytes(input);
  const graph = model.graph;
  if (!graph) throw new ModelpressError('E_GRAPH', 'model has no graph', file === undefined ? {} : { file });
  const conv = new Converter(new NameGen(allNames(model)), keep, overflow, keepNodes);
  conv.graph(graph, new Map(), new Map(), true);
  const notes: string[] = [];
  if (conv.clamped > 0) notes.push(`${conv.clamped} weight value(s) beyond ±${F16_MAX} clamped to ±${F16_MAX}`);
  if (conv.overflowing.length > 0)
    notes.push(
      `${conv.overflowValues} weight value(s) beyond ±${F16_MAX} in ${conv.overflowing.join(', ')}: kept in float32 with the ${conv.overflowNodes} node(s) reading them`,
    );
  if (conv.keptNodes > 0)
    notes.push(`${conv.keptNodes} node(s) kept in float32 (${[...conv.keptTypes].sort().join(', ')}), ${conv.casts} Cast(s) inserted`);
  else notes.push(`${conv.casts} Cast(s) inserted at float32 boundaries`);
  return { model, tensors: conv.reports, notes };
}

class Converter {
  clamped = 0;
  casts = 0;
  keptNodes = 0;
  readonly keptTypes = new Set<string>();
  readonly reports: TensorReport[] = [];
  readonly overflowing: string[] = [];
  overflowValues = 0;
  overflowNodes = 0;
  /** Nodes kept in float32 because they read a constant float16 cannot hold. */
  private readonly forced = new Set<NodeProto>();

  constructor(
    private readonly names: NameGen,
    private readonly keep: ReadonlySet<string>,
    private readonly overflow: 'keep' | 'clamp',
    private readonly keepNodes: ReadonlySet<string>,
  ) {}

  private kept(n: NodeProto): boolean {
    if (
      this.forced.has(n) ||
      (n.output[0] !== undefined && this.keepNodes.has(n.output[0])) ||
      (n.domain !== '' && n.domain !== 'ai.onnx') ||
      this.keep.has(n.opType)
    )
      return true;
    return opTraits(n).float16?.keepFloat32 === true;
  }

  /** The domain `n` wants its float input `i` in. */
  private wants(n: NodeProto, i: number): Domain {
    if (this.kept(n)) return 'f32';
    return opTraits(n).float16?.float32Inputs?.includes(i) ? 'f32' : 'f16'; // e.g. Resize scales are tensor(float) by spec
  }

  /**
   * Converts `graph` in place. `outerTypes`/`outerDomain` describe tensors
   * visible from enclosing graphs; `main` keeps float32 graph inputs/outputs.
   */
  graph(graph: GraphProto, outerTypes: ReadonlyMap<string, number>, outerDomain: ReadonlyMap<string, Domain>, main: boolean): void {
    const types = inferElemTypes(graph, outerTypes);
    const domain = new Map(outerDomain);
    const isFloat = (t: string) => types.get(t) === ONNX_TYPE.float32;
    const path = main ? '' : graph.name;
    if (this.overflow === 'keep') this.forceOverflowing(graph);

    // which constants some converted consumer wants in float16
    const wantF16 = new Set<string>();
    for (const n of graph.node) {
      n.input.forEach((t, i) => {
        if (t && this.wants(n, i) === 'f16') wantF16.add(t);
      });
      if (n.attribute.some((a) => a.g || a.graphs.length) && !this.kept(n)) for (const t of implicitInputs(n)) wantF16.add(t);
    }
    for (const v of graph.output) if (!main) wantF16.add(v.name);

    for (const v of graph.input) if (isFloat(v.name)) domain.set(v.name, main ? 'f32' : 'f16');
    for (const tp of graph.initializer) {
      if (tp.dataType !== ONNX_TYPE.float32) continue;
      if (wantF16.has(tp.name)) {
        this.toHalf(tp, path, graph.input.some((v) => v.name === tp.name) ? graph.input.find((v) => v.name === tp.name) : undefined);
        domain.set(tp.name, 'f16');
      } else domain.set(tp.name, 'f32');
    }

    const castCache = new Map<string, string>();
    const out: NodeProto[] = [];
    const castTo = (t: string, to: Domain): string => {
      const key = `${t}|${to}`;
      const hit = castCache.get(key);
      if (hit) return hit;
      const y = this.names.fresh(`${t}_${to === 'f16' ? 'fp16' : 'fp32'}`);
      out.push(makeNode(this.names, 'Cast', [t], [y], { to: to === 'f16' ? ONNX_TYPE.float16 : ONNX_TYPE.float32 }));
      this.casts++;
      castCache.set(key, y);
      return y;
    };

    for (const n of graph.node) {
      const kept = this.kept(n);
      if (kept) {
        this.keptNodes++;
        this.keptTypes.add(n.opType);
      }
      // Constant nodes: the value follows what consumers want
      if (n.opType === 'Constant' && (n.domain === '' || n.domain === 'ai.onnx')) {
        const y = n.output[0]!;
        if (isFloat(y)) {
          if (wantF16.has(y)) {
            this.constantToHalf(n, path);
            domain.set(y, 'f16');
          } else domain.set(y, 'f32');
        }
        out.push(n);
        continue;
      }
      n.input = n.input.map((t, i) => {
        if (!t || !isFloat(t)) return t;
        const want = this.wants(n, i);
        const have = domain.get(t) ?? 'f32';
        return have === want ? t : castTo(t, want);
      });
      if (!kept) {
        this.retypeAttributes(n);
        for (const a of n.attribute) {
          if (a.g) this.subgraph(a.g, types, domain);
          for (const g of a.graphs) this.subgraph(g, types, domain);
        }
      }
      for (const o of n.output) if (o && isFloat(o)) domain.set(o, kept ? 'f32' : 'f16');
      out.push(n);
    }

    // graph outputs: float32 for the main graph, float16 inside converted subgraphs
    for (const v of graph.output) {
      if (!isFloat(v.name)) continue;
      const want: Domain = main ? 'f32' : 'f16';
      const have = domain.get(v.name) ?? 'f32';
      if (have !== want) {
        const inner = this.names.fresh(`${v.name}_${have === 'f16' ? 'fp16' : 'fp32'}`);
        renameTensor(out, v.name, inner);
        out.push(makeNode(this.names, 'Cast', [inner], [v.name], { to: want === 'f16' ? ONNX_TYPE.float16 : ONNX_TYPE.float32 }));
        this.casts++;
        domain.set(inner, have);
        domain.set(v.name, want);
      }
      setElemType(v, want === 'f16' ? ONNX_TYPE.float16 : ONNX_TYPE.float32);
    }
    graph.node = out;
    for (const v of graph.valueInfo) if (isFloat(v.name) && domain.get(v.name) === 'f16') setElemType(v, ONNX_TYPE.float16);
    if (!main) for (const v of graph.input) if (isFloat(v.name)) setElemType(v, ONNX_TYPE.float16);
  }

  /** Marks the readers of float constants beyond the float16 range as kept. */
  private forceOverflowing(graph: GraphProto): void {
    const big = new Set<string>();
    const check = (name: string, tp: TensorProto) => {
      if (tp.dataType !== ONNX_TYPE.float32) return;
      let count = 0;
      for (const x of toFloat32(tensorFromProto(tp))) if (Math.abs(x) > F16_MAX) count++;
      if (count > 0) {
        big.add(name);
        this.overflowing.push(name);
        this.overflowValues += count;
      }
    };
    for (const tp of graph.initializer) check(tp.name, tp);
    for (const n of graph.node) {
      const a = n.opType === 'Constant' ? n.attribute.find((x) => x.name === 'value' && x.t) : undefined;
      if (a?.t && n.output[0]) check(n.output[0], a.t);
    }
    if (big.size === 0) return;
    const visit = (g: GraphProto) => {
      for (const n of g.node) {
        if (n.input.some((t) => big.has(t)) && !this.forced.has(n)) {
          this.forced.add(n);
          this.overflowNodes++;
        }
        for (const a of n.attribute) {
          if (a.g) visit(a.g);
          for (const s of a.graphs) visit(s);
        }
      }
    };
    visit(graph);
  }

  private subgraph(g: GraphProto, outerTypes: ReadonlyMap<string, number>, outerDomain: ReadonlyMap<string, Domain>): void {
    this.graph(g, outerTypes, outerDomain, false);
  }

  /** Attributes that name a float32 output type become float16. */
  private retypeAttributes(n: NodeProto): void {
    for (const a of n.attribute) {
      if (a.name === opTraits(n).float16?.typeAttr) {
        if (Number(a.i) === ONNX_TYPE.float32) a.i = BigInt(ONNX_TYPE.float16);
      }
      if (n.opType === 'ConstantOfShape' && a.name === 'value' && a.t && a.t.dataType === ONNX_TYPE.float32) a.t = this.halfProto(a.t);
    }
    if (n.opType === 'ConstantOfShape' && !n.attribute.some((a) => a.name === 'value')) {
      // default value is float32 0: give it an explicit float16 zero
      const zero = tensorToProto('', makeTensor('float16', [1], new Uint8Array(2)));
      n.attribute.push(makeAttribute('value', { tensor: zero }));
    }
  }

  private halfProto(tp: TensorProto): TensorProto {
    const v = toFloat32(tensorFromProto(tp));
    const half = new Uint16Array(v.length);
    for (let i = 0; i < v.length; i++) {
      let x = v[i]!;
      if (x > F16_MAX) {
        x = F16_MAX;
        this.clamped++;
      } else if (x < -F16_MAX) {
        x = -F16_MAX;
        this.clamped++;
      }
      v[i] = x;
    }
    float32ToFloat16(v, half);
    const out = tensorToProto(tp.name, makeTensor('float16', tp.dims.map(Number), new Uint8Array(half.buffer)));
    return out;
  }

  private toHalf(tp: TensorProto, path: string, inputEntry: ValueInfoProto | undefined): void {
    const before = tensorFromProto(tp).data.byteLength;
    const half = this.halfProto(tp);
    tp.dataType = ONNX_TYPE.float16;
    tp.rawData = half.rawData;
    tp.floatData = [];
    tp.int32Data = [];
    if (inputEntry) setElemType(inputEntry, ONNX_TYPE.float16);
    this.reports.push({
      name: tp.name,
      graph: path,
      ops: [],
      action: 'float16',
      dtype: 'float32',
      shape: tp.dims.map(Number),
      bytesBefore: before,
      bytesAfter: half.rawData.byteLength,
    });
  }

  private constantToHalf(n: NodeProto, path: string): void {
    const a = n.attribute.find((x) => x.name === 'value' && x.t);
    if (a?.t) {
      const before = tensorFromProto(a.t).data.byteLength;
      a.t = this.halfProto(a.t);
      this.reports.push({
        name: n.output[0]!,
        graph: path,
        ops: [],
        action: 'float16',
        dtype: 'float32',
        shape: a.t.dims.map(Number),
        bytesBefore: before,
        bytesAfter: a.t.rawData.byteLength,
      });
      return;
    }
    const f = n.attribute.find((x) => x.name === 'value_float' || x.name === 'value_floats');
    if (f) {
      const values = f.name === 'value_float' ? [f.f] : f.floats;
      const shape = f.name === 'value_float' ? [] : [values.length];
      const fp32 = tensorToProto('', makeTensor('float32', shape, new Uint8Array(Float32Array.from(values).buffer)));
      const replacement = makeAttribute('value', { tensor: this.halfProto(fp32) });
      n.attribute = n.attribute.filter((x) => x !== f);
      n.attribute.push(replacement);
    }
  }
}

function setElemType(v: ValueInfoProto, elemType: number): void {
  if (v.type?.value.case === 'tensorType') v.type.value.value.elemType = elemType;
}

/** Renames every use and definition of tensor `from` in `nodes` (subgraphs included). */
function renameTensor(nodes: NodeProto[], from: string, to: string): void {
  for (const n of nodes) {
    n.input = n.input.map((t) => (t === from ? to : t));
    n.output = n.output.map((t) => (t === from ? to : t));
    for (const a of n.attribute) {
      if (a.g) renameInGraph(a.g, from, to);
      for (const g of a.graphs) renameInGraph(g, from, to);
    }
  }
}

function renameInGraph(g: GraphProto, from: string, to: string): void {
  // a subgraph that defines `from` itself shadows the outer name
  if (g.initializer.some((t) => t.name === from) || g.input.some((v) => v.name === from) || g.node.some((n) => n.output.includes(from)))
    return;
  renameTensor(g.node, from, to);
  for (const v of g.output) if (v.name === from) v.name = to;
}

/** Outer-scope tensors a node's subgraphs read. */
function implicitInputs(n: NodeProto): string[] {
  const out: string[] = [];
  const visit = (g: GraphProto) => {
    const local = new Set<string>([...g.initializer.map((t) => t.name), ...g.input.map((v) => v.name)]);
    for (const m of g.node) for (const o of m.output) local.add(o);
    for (const m of g.node) {
      for (const t of m.input) if (t && !local.has(t)) out.push(t);
      for (const a of m.attribute) {
        if (a.g) visit(a.g);
        for (const s of a.graphs) visit(s);
      }
    }
    for (const v of g.output) if (!local.has(v.name)) out.push(v.name);
  };
  for (const a of n.attribute) {
    if (a.g) visit(a.g);
    for (const g of a.graphs) visit(g);
  }
  return out;
}
