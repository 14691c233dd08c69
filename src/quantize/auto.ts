/**
 * Automatic mixed precision (`quantize --scheme auto`), the browser-safe part:
 *
 * - `autoCandidates`: every weight of the main graph under each candidate
 *   precision (float32, float16 storage, int8 per-channel, k-means 256-entry
 *   codebook, int4 blocks / MatMulNBits), as the existing weight schemes write
 *   it: the bytes it would cost in the file and the values the model would
 *   then compute with. One uniform pass per candidate; the values are what the
 *   sensitivity probe (src/compress/sensitivity.ts) feeds the model.
 * - `allocationChain` / `allocate`: from measured output errors, the chain of
 *   plans ordered by compression (greedy on the lower convex hull of each
 *   tensor's (bytes, error) points: every step is the one that adds the least
 *   output error per byte saved), and the plan for a size or error target.
 *   The chain is nested, so a larger target never stores a tensor smaller.
 * - `buildMixed`: one weight pass that hands each tensor to the scheme of its
 *   plan entry, so one graph holds DequantizeLinear, MatMulNBits, Gather
 *   codebooks and float16 Casts side by side.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { nbitsWeights } from './nbits.js';
import type { QuantizeOptions, SchemeResult } from './types.js';
import { runWeightPass, type WeightContext, type WeightFn } from './weight-pass.js';
import { halfWeights, kmeansWeights, linearWeights } from './weight-only.js';
import type { WeightDef } from '../graph/weights.js';

/** The precisions a tensor may get, widest first. */
export const AUTO_PRECISIONS = ['float32', 'float16', 'int8', 'kmeans8', 'int4'] as const;
export type AutoPrecision = (typeof AUTO_PRECISIONS)[number];

interface CandidateScheme {
  readonly precision: Exclude<AutoPrecision, 'float32'>;
  readonly make: () => { fn: WeightFn; prepare?: (ctx: WeightContext, defs: WeightDef[]) => void };
  /** Options this candidate always runs with (over the user's). */
  readonly opts: QuantizeOptions;
}

const CANDIDATES: readonly CandidateScheme[] = [
  { precision: 'float16', make: () => halfWeights('float16'), opts: {} },
  { precision: 'int8', make: () => linearWeights(8, true), opts: { perChannel: true, symmetric: true } },
  { precision: 'kmeans8', make: () => kmeansWeights(8), opts: {} },
  { precision: 'int4', make: () => nbitsWeights(false), opts: { symmetric: false } },
];

/** One way to store a tensor. */
export interface AutoCandidate {
  readonly precision: AutoPrecision;
  /** Bytes in the file (payload and scales/codebook). */
  readonly bytes: number;
  /** What the scheme's report calls it, e.g. 'int8 per-channel axis 0 (DequantizeLinear)'. */
  readonly action: string;
  /** The values the model computes with (empty for float32: the model's own). */
  readonly values: Float32Array;
}

export interface AutoTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly ops: readonly string[];
  /** float32 first, then every other precision a scheme could apply, widest first. */
  readonly candidates: readonly AutoCandidate[];
}

export interface AutoCandidates {
  /** The model the candidates apply to: BatchNormalization folded where asked, duplicates merged (float32). */
  readonly model: ModelProto;
  readonly tensors: readonly AutoTensor[];
  /** Bytes of every float32 weight no candidate changes (small, not selected, or not a main-graph initializer). */
  readonly fixedBytes: number;
  readonly notes: readonly string[];
}

function skipAll(): { skip: string } {
  return { skip: 'prepass' };
}

/** The scheme opts a candidate runs with: the user's, with the candidate's own on top and no BatchNormalization folding. */
function candidateOpts(opts: QuantizeOptions, c: CandidateScheme): QuantizeOptions {
  return { ...opts, ...c.opts, foldBatchNorm: false, compactNames: false };
}

/**
 * Every selected float32 main-graph initializer of `model` under every candidate precision. `opts` carries the
 * selection (--include/--exclude/--min-size), the block size and k-means options; BatchNormalization is folded
 * first unless opts.foldBatchNorm is false.
 */
export function autoCandidates(model: ModelProto, opts: QuantizeOptions = {}): AutoCandidates {
  const pre = runWeightPass(model, { ...opts, foldBatchNorm: opts.foldBatchNorm ?? true, include: [], exclude: [] }, skipAll);
  const folded = pre.model;
  const byName = new Map<string, { shape: readonly number[]; ops: readonly string[]; floatBytes: number; cands: AutoCandidate[] }>();
  const initializerNames = new Set((folded.graph?.initializer ?? []).map((t) => t.name));
  for (const t of pre.tensors) {
    if (t.graph !== '' || t.dtype !== 'float32' || !initializerNames.has(t.name)) continue;
    byName.set(t.name, { shape: t.shape, ops: t.ops, floatBytes: t.bytesBefore, cands: [] });
  }
  for (const c of CANDIDATES) {
    const s = c.make();
    const values = new Map<string, Float32Array>();
    const fn: WeightFn = (def, x, ctx) => {
      const out = def.path === '' && byName.has(def.name) ? s.fn(def, x, ctx) : { skip: 'not a main-graph initializer' };
      if (!('skip' in out)) values.set(def.name, out.restored);
      return out;
    };
    const r = runWeightPass(folded, candidateOpts(opts, c), fn, s.prepare);
    for (const t of r.tensors) {
      const entry = byName.get(t.name);
      const v = values.get(t.name);
      if (t.graph !== '' || !entry || !v || t.action === 'skipped') continue;
      if (t.bytesAfter >= entry.floatBytes) continue; // stores nothing smaller
      entry.cands.push({ precision: c.precision, bytes: t.bytesAfter, action: t.action, values: v });
    }
  }
  const tensors: AutoTensor[] = [];
  let fixedBytes = 0;
  for (const [name, e] of byName) {
    if (e.cands.length === 0) {
      fixedBytes += e.floatBytes;
      continue;
    }
    tensors.push({
      name,
      shape: e.shape,
      ops: e.ops,
      candidates: [{ precision: 'float32', bytes: e.floatBytes, action: 'float32', values: new Float32Array(0) }, ...e.cands],
    });
  }
  return { model: folded, tensors, fixedBytes, notes: pre.notes };
}

/** Sizes and measured output errors of one tensor's candidates, for the allocator. */
export interface AllocTensor {
  readonly name: string;
  /** Parallel arrays over the tensor's candidates; index 0 is float32 (error 0). */
  readonly bytes: readonly number[];
  /** Output noise-to-signal ratio (noise power / signal power) with only this tensor changed. */
  readonly error: readonly number[];
}

/** One step of the chain: tensor `tensor` moves to candidate `to`. */
export interface AllocStep {
  readonly tensor: number;
  readonly to: number;
  readonly bytesSaved: number;
  readonly errorAdded: number;
}

/** A candidate's error as the allocator counts it: never negative, NaN/Infinity as the largest number. */
function errOf(t: AllocTensor, i: number): number {
  const e = t.error[i]!;
  return Number.isFinite(e) ? Math.max(0, e) : Number.MAX_VALUE;
}

/** Lower convex hull of a tensor's (bytes, error) points, from float32 (index 0) to its smallest: candidate indices in order. */
function hull(t: AllocTensor): number[] {
  const err = (i: number) => errOf(t, i);
  // index 0 (float32) is the start; a candidate that stores no fewer bytes than it is never worth taking
  const order = [
    0,
    ...t.bytes
      .map((_, i) => i)
      .filter((i) => i > 0 && t.bytes[i]! < t.bytes[0]!)
      .sort((a, b) => t.bytes[b]! - t.bytes[a]! || err(a) - err(b) || a - b),
  ];
  const h: number[] = [];
  for (const i of order) {
    const last = h[h.length - 1];
    if (last !== undefined && t.bytes[i]! === t.bytes[last]!) continue; // same size, no less error
    // x = bytes saved (increasing), y = error: pop while the last point lies on or above the segment to i
    while (h.length >= 2) {
      const a = h[h.length - 2]!;
      const b = h[h.length - 1]!;
      const cross = (t.bytes[a]! - t.bytes[b]!) * (err(i) - err(a)) - (t.bytes[a]! - t.bytes[i]!) * (err(b) - err(a));
      if (cross <= 0) h.pop();
      else break;
    }
    h.push(i);
  }
  return h;
}

/**
 * Every tensor starts at float32 (index 0); the chain then applies,
 * across tensors, the hull steps in order of error added per byte saved. Plan k applies the first k steps.
 */
export function allocationChain(tensors: readonly AllocTensor[]): { start: number[]; steps: AllocStep[] } {
  const start: number[] = [];
  const steps: (AllocStep & { slope: number; rank: number })[] = [];
  tensors.forEach((t, ti) => {
    if (t.bytes.length !== t.error.length || t.bytes.length === 0)
      throw new ModelpressError('E_ARG', `tensor ${t.name}: bytes and error lists differ in length or are empty`);
    const h = hull(t);
    start.push(h[0]!);
    for (let k = 1; k < h.length; k++) {
      const a = h[k - 1]!;
      const b = h[k]!;
      const saved = t.bytes[a]! - t.bytes[b]!;
      const added = errOf(t, b) - errOf(t, a);
      steps.push({ tensor: ti, to: b, bytesSaved: saved, errorAdded: added, slope: added / saved, rank: k });
    }
  });
  steps.sort((x, y) => x.slope - y.slope || x.tensor - y.tensor || x.rank - y.rank);
  // a tensor's hull slopes increase, but ties across its own steps must keep their order: the sort above does
  return { start, steps: steps.map(({ tensor, to, bytesSaved, errorAdded }) => ({ tensor, to, bytesSaved, errorAdded })) };
}

export interface Allocation {
  /** Candidate index per tensor. */
  readonly choice: readonly number[];
  /** Steps of the chain applied. */
  readonly steps: number;
  readonly bytes: number;
  /** Sum of the per-tensor errors (the additive estimate). */
  readonly error: number;
}

/** The plan after the first `k` steps of a chain. */
export function planAt(tensors: readonly AllocTensor[], chain: { start: number[]; steps: AllocStep[] }, k: number): Allocation {
  const choice = [...chain.start];
  for (let i = 0; i < k; i++) {
    const s = chain.steps[i]!;
    choice[s.tensor] = s.to;
  }
  let bytes = 0;
  let error = 0;
  tensors.forEach((t, i) => {
    bytes += t.bytes[choice[i]!]!;
    error += errOf(t, choice[i]!);
  });
  return { choice, steps: k, bytes, error };
}

/**
 * The chain's last step usually saves more than the size target needed. This spends what is left under
 * `maxBytes` again: repeatedly, the move of one tensor to a wider candidate that fits in the slack and removes the
 * most error per byte it adds. Never adds error, never exceeds `maxBytes`.
 */
export function fillSlack(tensors: readonly AllocTensor[], plan: Allocation, maxBytes: number): Allocation {
  const choice = [...plan.choice];
  let bytes = plan.bytes;
  let error = plan.error;
  for (;;) {
    let best: { i: number; c: number; gain: number; added: number; less: number } | undefined;
    tensors.forEach((t, i) => {
      const now = choice[i]!;
      for (let c = 0; c < t.bytes.length; c++) {
        const added = t.bytes[c]! - t.bytes[now]!;
        const less = errOf(t, now) - errOf(t, c);
        if (added <= 0 || less <= 0 || bytes + added > maxBytes) continue;
        const gain = less / added;
        if (!best || gain > best.gain) best = { i, c, gain, added, less };
      }
    });
    if (!best) break;
    choice[best.i] = best.c;
    bytes += best.added;
    error -= best.less;
  }
  return { choice, steps: plan.steps, bytes, error: Math.max(0, error) };
}

/**
 * The plan for a target: `maxBytes` takes the fewest steps whose size fits (the best estimated fidelity within the
 * size); `maxError` takes the most steps whose estimated error stays within it (the smallest size meeting it).
 * undefined when `maxBytes` cannot be reached even with every step.
 */
export function allocate(
  tensors: readonly AllocTensor[],
  target: { maxBytes: number } | { maxError: number },
  chain = allocationChain(tensors),
  refill = true,
): Allocation | undefined {
  let bytes = 0;
  let error = 0;
  chain.start.forEach((c, i) => {
    bytes += tensors[i]!.bytes[c]!;
    error += errOf(tensors[i]!, c);
  });
  if ('maxBytes' in target) {
    let k = 0;
    while (bytes > target.maxBytes && k < chain.steps.length) {
      bytes -= chain.steps[k]!.bytesSaved;
      k++;
    }
    if (bytes > target.maxBytes) return undefined;
    const plan = planAt(tensors, chain, k);
    return refill === false ? plan : fillSlack(tensors, plan, target.maxBytes);
  }
  let k = 0;
  while (k < chain.steps.length && error + chain.steps[k]!.errorAdded <= target.maxError) {
    error += chain.steps[k]!.errorAdded;
    k++;
  }
  return planAt(tensors, chain, k);
}

/**
 * The mixed model: each tensor named in `plan` goes through the scheme of its precision (float32 or absent: left as
 * it is), all in one weight pass over `cands.model`, so opset and domain changes are made once for the graph.
 */
export function buildMixed(cands: AutoCandidates, plan: ReadonlyMap<string, AutoPrecision>, opts: QuantizeOptions = {}): SchemeResult {
  const schemes = CANDIDATES.map((c) => ({ c, s: c.make() }));
  const of = (def: WeightDef) => (def.path === '' ? plan.get(def.name) : undefined);
  const fn: WeightFn = (def, x, ctx) => {
    const p = of(def);
    const e = schemes.find((k) => k.c.precision === p);
    if (!e) return { skip: 'float32 in the auto plan' };
    return e.s.fn(def, x, { ...ctx, opts: candidateOpts(ctx.opts, e.c) });
  };
  const prepare = (ctx: WeightContext, defs: WeightDef[]) => {
    // widest opset need first is not required (raising only goes up); int4 first so int8 sees the raised opset
    for (const e of [...schemes].reverse()) {
      const mine = defs.filter((d) => of(d) === e.c.precision);
      if (mine.length > 0) e.s.prepare?.({ ...ctx, opts: candidateOpts(ctx.opts, e.c) }, mine);
    }
  };
  return runWeightPass(cands.model, { ...opts, foldBatchNorm: false, include: [], exclude: [], minSize: 0 }, fn, prepare);
}

/** One line for `quantize --help`. */
export const AUTO_SUMMARY = `mixed precision per tensor (${AUTO_PRECISIONS.join(', ')}) for one target: --target-size, --min-snr or --max-drop`;
