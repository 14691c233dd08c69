/**
 * Safe float16: before (and after) converting, run the float32 model on the
 * calibration inputs (else on seeded random inputs, said loudly in the notes)
 * with every float32 intermediate of the main graph exposed as an output, and
 * find the activations float16 cannot hold: |x| beyond 65504 / headroom
 * (residual streams, sums of squares, Softmax inputs, large MatMul
 * accumulations). The nodes producing and reading those tensors stay in
 * float32 (the converter puts Casts at the boundaries). The converted model is
 * then run on the same inputs with its intermediates exposed; a node whose
 * float16 output turns non-finite while its inputs are finite joins the kept
 * set and the conversion is redone, a bounded number of rounds. If the
 * outputs still hold Inf/NaN, E_FIDELITY: nothing is written.
 *
 * Browser-safe: models run through the caller's RunnerFactory.
 */
import type { GraphProto, ModelProto } from 'onnx-buf';
import { ONNX_TYPE } from '../core/dtypes.js';
import { ModelpressError } from '../core/errors.js';
import { mulberry32 } from '../core/random.js';
import { toFloat32, type Tensor } from '../core/tensor.js';
import { writeOnnx } from '../formats/onnx/write.js';
import { inferElemTypes } from '../graph/op-traits.js';
import type { IoInfo, RunnerFactory } from '../runtime/runner.js';
import { augmentWithOutputs, feedTensors } from './static/collect.js';
import type { QuantizeOptions, SchemeResult } from './types.js';

export const F16_MAX = 65504;

/** Calibration samples the guard runs (the first ones of opts.calibration). */
export const GUARD_SAMPLES = 16;
/** Seeded random input sets when no calibration data is given. */
export const GUARD_RANDOM_RUNS = 4;
/** Size given to symbolic dims of random inputs. */
export const GUARD_RANDOM_DIM = 1;

export interface Fp16GuardOptions {
  /** Keep a tensor in float32 when calibration sees |x| > 65504 / headroom (default 2: room for inputs beyond the calibration's). */
  readonly fp16Headroom?: number;
  /** Verify-and-extend rounds on the converted model (default 6). */
  readonly fp16GuardRounds?: number;
}

/** The inputs the guard runs: the first calibration feeds, else seeded random ones (and a note saying so). */
export async function guardFeeds(
  model: ModelProto,
  opts: QuantizeOptions,
): Promise<{ feeds: Record<string, Tensor>[]; source: string; random: boolean }> {
  if (opts.calibration && opts.calibration.length > 0) {
    const feeds = opts.calibration.slice(0, GUARD_SAMPLES).map(feedTensors);
    return { feeds, source: `${feeds.length} calibration batch(es)`, random: false };
  }
  const runner = await opts.openRunner!(writeOnnx(model), opts.file === undefined ? {} : { file: opts.file });
  let inputs: readonly IoInfo[];
  try {
    inputs = runner.inputs;
  } finally {
    await runner.dispose();
  }
  const feeds: Record<string, Tensor>[] = [];
  for (let run = 0; run < GUARD_RANDOM_RUNS; run++) {
    const rng = mulberry32(0x5eed + run);
    const feed: Record<string, Tensor> = {};
    for (const input of inputs) feed[input.name] = randomInput(input, rng, opts.file);
    feeds.push(feed);
  }
  return { feeds, source: `${GUARD_RANDOM_RUNS} SEEDED RANDOM input sets (not your data; give --calib)`, random: true };
}

function randomInput(input: IoInfo, rng: () => number, file: string | undefined): Tensor {
  const shape = (input.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : GUARD_RANDOM_DIM));
  const n = shape.reduce((a, b) => a * b, 1);
  switch (input.dtype) {
    case 'float32': {
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = rng();
      return { dtype: 'float32', shape, data: new Uint8Array(v.buffer) };
    }
    case 'int64': {
      const v = new BigInt64Array(n);
      for (let i = 0; i < n; i++) v[i] = BigInt(Math.floor(rng() * 16));
      return { dtype: 'int64', shape, data: new Uint8Array(v.buffer) };
    }
    case 'int32': {
      const v = new Int32Array(n);
      for (let i = 0; i < n; i++) v[i] = Math.floor(rng() * 16);
      return { dtype: 'int32', shape, data: new Uint8Array(v.buffer) };
    }
    default:
      throw new ModelpressError(
        'E_UNSUPPORTED',
        `fp16 guard: cannot make random values for input '${input.name}' (${input.dtype ?? 'non-tensor'}); give --calib data or --no-fp16-guard`,
        file === undefined ? {} : { file },
      );
  }
}

/** Float node outputs of the main graph (Constants left out), with their element types. */
function floatIntermediates(graph: GraphProto, types: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const n of graph.node) {
    if (n.opType === 'Constant') continue;
    for (const o of n.output) {
      const t = types.get(o);
      if (o && (t === ONNX_TYPE.float32 || t === ONNX_TYPE.float16)) out.push(o);
    }
  }
  return out;
}

/** Largest |x| of each float intermediate over `feeds` (Infinity when any value is Inf or NaN). */
export async function activationPeaks(
  model: ModelProto,
  feeds: readonly Record<string, Tensor>[],
  openRunner: RunnerFactory,
  file?: string,
): Promise<Map<string, number>> {
  const graph = model.graph!;
  const tensors = floatIntermediates(graph, inferElemTypes(graph, new Map()));
  const peaks = new Map<string, number>(tensors.map((t) => [t, 0]));
  if (tensors.length === 0) return peaks;
  const runner = await openRunner(writeOnnx(augmentWithOutputs(model, tensors)), {
    graphOptimization: 'disabled',
    ...(file === undefined ? {} : { file }),
  });
  try {
    for (const feed of feeds) {
      const out = await runner.run(feed, tensors);
      for (const t of tensors) {
        const v = out[t];
        if (!v) continue;
        let m = peaks.get(t)!;
        for (const x of toFloat32(v)) {
          const a = Math.abs(x);
          if (!(a <= m)) m = Number.isNaN(a) ? Infinity : a;
        }
        peaks.set(t, m);
      }
    }
  } finally {
    await runner.dispose();
  }
  return peaks;
}

/** What the guard found and did, for notes and tests. */
export interface GuardReport {
  readonly source: string;
  readonly random: boolean;
  /** Tensors whose float32 peak was beyond the float16 limit (name -> peak). */
  readonly hazards: ReadonlyMap<string, number>;
  /** Output tensor names (output[0]) of the nodes kept in float32. */
  readonly keptNodes: ReadonlySet<string>;
  readonly rounds: number;
}

/**
 * Runs `convert(model, keptNodes)` with the nodes around out-of-range
 * activations kept in float32; see the file comment. `convert` must keep the
 * nodes whose first output is in keptNodes in float32 and leave node output
 * names of the main graph unchanged.
 */
export async function guardFp16(
  model: ModelProto,
  opts: QuantizeOptions & Fp16GuardOptions,
  convert: (keptNodes: ReadonlySet<string>) => Promise<SchemeResult>,
): Promise<SchemeResult & { guard: GuardReport }> {
  const where = opts.file === undefined ? {} : { file: opts.file };
  if (!opts.openRunner)
    throw new ModelpressError('E_ARG', 'fp16 guard needs a runtime (openRunner); pass fp16Guard: false to convert blind', where);
  const limit = F16_MAX / (opts.fp16Headroom ?? 2);
  const { feeds, source, random } = await guardFeeds(model, opts);
  let peaks: Map<string, number>;
  try {
    peaks = await activationPeaks(model, feeds, opts.openRunner, opts.file);
  } catch (e) {
    // random values may be inputs the model refuses (a sample rate, a shape it needs): say so and convert unguarded
    if (!random || !(e instanceof ModelpressError)) throw e;
    const result = await convert(new Set());
    const why = e.message.split('\n')[0]!.slice(0, 200);
    const note = `fp16 guard: NOT APPLIED: the model does not run on seeded random inputs (${why}); give --calib <data> to find the activations float16 cannot hold`;
    return { ...result, notes: [...result.notes, note], guard: { source, random, hazards: new Map(), keptNodes: new Set(), rounds: 0 } };
  }
  const hazards = new Map([...peaks].filter(([, m]) => m > limit));
  const graph = model.graph!;
  const kept = new Set<string>();
  for (const n of graph.node) {
    if (n.opType === 'Constant' || !n.output[0]) continue;
    if (n.output.some((o) => hazards.has(o)) || n.input.some((t) => hazards.has(t))) kept.add(n.output[0]);
  }
  const graphOutputs = new Set(graph.output.map((o) => o.name));
  const rounds = opts.fp16GuardRounds ?? 6;
  for (let round = 1; ; round++) {
    const result = await convert(kept);
    const after = await activationPeaks(result.model, feeds, opts.openRunner, opts.file);
    const bad = [...graphOutputs].filter((o) => !Number.isFinite(after.get(o) ?? 0));
    // tensors float32 kept finite that turned Inf/NaN in float16 (a -inf mask the model meant stays as it is)
    const broken = (t: string) => !Number.isFinite(after.get(t) ?? 0) && Number.isFinite(peaks.get(t) ?? 0);
    // the first nodes whose output turns non-finite from finite inputs
    const fresh: string[] = [];
    for (const n of result.model.graph!.node) {
      if (!n.output.some((o) => !Number.isFinite(after.get(o) ?? 0))) continue;
      if (n.input.some((t) => after.has(t) && !Number.isFinite(after.get(t)!))) continue;
      const key = originalNodeKey(n.output, graph);
      if (key !== undefined && !kept.has(key) && n.output.some((o) => broken(o) || broken(key))) fresh.push(key);
    }
    if (fresh.length === 0 && bad.length === 0) {
      const report: GuardReport = { source, random, hazards, keptNodes: kept, rounds: round };
      return { ...result, notes: [...result.notes, ...guardNotes(report)], guard: report };
    }
    if (fresh.length === 0 || round >= rounds) {
      if (bad.length === 0) {
        const report: GuardReport = { source, random, hazards, keptNodes: kept, rounds: round };
        const left = `fp16 guard: some activations still overflow float16 on ${source} after ${round} rounds, but the outputs are finite`;
        return { ...result, notes: [...result.notes, ...guardNotes(report), left], guard: report };
      }
      throw new ModelpressError(
        'E_FIDELITY',
        `fp16: output(s) ${bad.join(', ')} still hold Inf/NaN on ${source} after keeping ${kept.size} node(s) in float32; nothing written (try --scheme fp16-weights)`,
        where,
      );
    }
    for (const k of fresh) kept.add(k);
  }
}

/** The original main-graph node key (first output) among `outputs`, or undefined for a node the converter added. */
function originalNodeKey(outputs: readonly string[], graph: GraphProto): string | undefined {
  for (const n of graph.node) if (n.output[0] && outputs.includes(n.output[0])) return n.output[0];
  // a node whose graph output was renamed (x -> x_fp16): its producer in the original graph made x
  for (const o of outputs) {
    const m = /^(.*)_fp(16|32)(_\d+)?$/.exec(o);
    if (m) for (const n of graph.node) if (n.output[0] === m[1]) return m[1];
  }
  return undefined;
}

function guardNotes(r: GuardReport): string[] {
  const notes: string[] = [];
  const top = [...r.hazards]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([t, m]) => `${t} (${Number.isFinite(m) ? m.toExponential(2) : 'Inf/NaN'})`);
  if (r.keptNodes.size === 0)
    notes.push(`fp16 guard: no activation leaves float16's range on ${r.source}; nothing kept in float32 for range`);
  else
    notes.push(
      `fp16 guard: ${r.hazards.size} activation(s) beyond float16's range on ${r.source}${top.length ? `: ${top.join(', ')}` : ''}; ${r.keptNodes.size} node(s) producing or reading them kept in float32${r.rounds > 1 ? ` (${r.rounds} rounds)` : ''}`,
    );
  if (r.random)
    notes.push('fp16 guard: activations measured on SEEDED RANDOM inputs, not your data: give --calib <data> for ranges that hold');
  return notes;
}
