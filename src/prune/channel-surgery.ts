/**
 * Structured channel pruning with graph surgery: removes output channels of
 * Conv / Gemm / MatMul layers and every slice that depends on them (bias,
 * BatchNormalization parameters, depthwise Convs and their `group`, the input
 * channels or flattened input features of the next layers), producing a
 * smaller dense model. The result computes exactly what the original computes
 * with those channels cut off at the next layer's input (see
 * `zeroChannelInputs`, the reference the tests compare against).
 */
import type { GraphProto, ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { fromFloat32, toFloat32 } from '../core/tensor.js';
import { tensorFromProto, tensorToProto } from '../formats/onnx/tensor-proto.js';
import { findAttr } from '../graph/attributes.js';
import { cloneModel, constantsToInitializers } from '../graph/model-edit.js';
import { channelNorms, channelsToRemove, type ChannelNorm } from './channel-scores.js';
import { planChannelPruning, type ChannelLayerPlan, type ChannelPlan, type SkippedLayer, type SliceEdit } from './channel-plan.js';
import { globToRegExp } from './select.js';

/** Channels to remove, by layer label (ascending indices). */
export type ChannelRemoval = ReadonlyMap<string, readonly number[]>;

/** Keeps, along `axis` of a row-major tensor, only the blocks of the channels in `keep`. */
export function sliceChannels(
  values: Float32Array,
  shape: readonly number[],
  axis: number,
  keep: readonly number[],
  block: number,
): { values: Float32Array; shape: number[] } {
  const len = shape[axis]!;
  if (len % block !== 0) throw new ModelpressError('E_SHAPE', `axis ${axis} of [${shape.join(', ')}] is not a multiple of ${block}`);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const newLen = keep.length * block;
  const out = new Float32Array(outer * newLen * inner);
  for (let o = 0; o < outer; o++) {
    keep.forEach((c, k) => {
      const src = (o * len + c * block) * inner;
      const dst = (o * newLen + k * block) * inner;
      out.set(values.subarray(src, src + block * inner), dst);
    });
  }
  const newShape = [...shape];
  newShape[axis] = newLen;
  return { values: out, shape: newShape };
}

/** Sets the removed channels' blocks along `axis` to zero (same shape). */
function zeroChannels(
  values: Float32Array,
  shape: readonly number[],
  axis: number,
  removed: readonly number[],
  block: number,
): Float32Array {
  const len = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const out = values.slice();
  for (let o = 0; o < outer; o++) for (const c of removed) out.fill(0, (o * len + c * block) * inner, (o * len + (c + 1) * block) * inner);
  return out;
}

function editInitializer(
  graph: GraphProto,
  name: string,
  f: (values: Float32Array, shape: number[]) => { values: Float32Array; shape: number[] },
): void {
  const i = graph.initializer.findIndex((t) => t.name === name);
  if (i < 0) throw new ModelpressError('E_NOT_FOUND', `initializer ${name} not found`);
  const old = graph.initializer[i]!;
  const t = tensorFromProto(old);
  const r = f(toFloat32(t), [...t.shape]);
  const fresh = tensorToProto(name, fromFloat32(r.values, t.dtype, r.shape));
  fresh.docString = old.docString;
  graph.initializer[i] = fresh;
}

/** A copy of `model` with Constant-node weights turned into initializers (what the planner reads). */
export function prepareForChannelPruning(model: ModelProto): ModelProto {
  const copy = cloneModel(model);
  constantsToInitializers(copy);
  return copy;
}

function checkRemoval(plan: ChannelLayerPlan, removed: readonly number[]): number[] {
  const sorted = [...new Set(removed)].sort((a, b) => a - b);
  if (sorted.some((c) => !Number.isInteger(c) || c < 0 || c >= plan.channels))
    throw new ModelpressError('E_ARG', `layer ${plan.layer}: channel indices must be in [0, ${plan.channels})`);
  if (sorted.length >= plan.channels)
    throw new ModelpressError('E_ARG', `layer ${plan.layer}: cannot remove all ${plan.channels} channels`);
  return sorted;
}

function planFor(plans: readonly ChannelLayerPlan[], layer: string): ChannelLayerPlan {
  const p = plans.find((x) => x.layer === layer);
  if (!p)
    throw new ModelpressError(
      'E_NOT_FOUND',
      `layer ${layer} is not channel-prunable (prunable: ${plans.map((x) => x.layer).join(', ') || 'none'})`,
    );
  return p;
}

/**
 * Physically removes the channels `removal` names from `model` (already
 * prepared: weights as initializers). Returns a new model; `model` is left
 * untouched.
 */
export function removeChannels(model: ModelProto, removal: ChannelRemoval): ModelProto {
  const plans = planChannelPruning(model).layers;
  const out = cloneModel(model);
  const graph = out.graph!;
  const changed = new Set<string>();
  for (const [layer, removedRaw] of removal) {
    const plan = planFor(plans, layer);
    const removed = checkRemoval(plan, removedRaw);
    if (removed.length === 0) continue;
    const keep = Array.from({ length: plan.channels }, (_, c) => c).filter((c) => !removed.includes(c));
    for (const edit of plan.edits) {
      if (edit.kind === 'slice') {
        editInitializer(graph, edit.tensor, (values, shape) => sliceChannels(values, shape, edit.axis, keep, edit.block));
      } else {
        const node = graph.node[model.graph!.node.indexOf(edit.node)]!;
        const g = findAttr(node, 'group');
        if (g) g.i = BigInt(keep.length);
      }
    }
    for (const t of plan.tensors) changed.add(t);
  }
  // Shapes of the cut tensors changed: drop their stale value_info.
  graph.valueInfo = graph.valueInfo.filter((v) => !changed.has(v.name));
  return out;
}

/**
 * The reference for the surgery: `model` (prepared) with the removed channels
 * cut at the input of the consuming layers (their input-channel weights
 * zeroed), same shapes. removeChannels(model, r) must compute the same outputs.
 */
export function zeroChannelInputs(model: ModelProto, removal: ChannelRemoval): ModelProto {
  const plans = planChannelPruning(model).layers;
  const out = cloneModel(model);
  for (const [layer, removedRaw] of removal) {
    const plan = planFor(plans, layer);
    const removed = checkRemoval(plan, removedRaw);
    for (const edit of plan.edits) {
      if (edit.kind !== 'slice' || !edit.role.startsWith('consumer')) continue;
      const e: SliceEdit = edit;
      editInitializer(out.graph!, e.tensor, (values, shape) => ({ values: zeroChannels(values, shape, e.axis, removed, e.block), shape }));
    }
  }
  return out;
}

export interface ChannelPruneOptions {
  /** Fraction of each prunable layer's output channels to remove, in [0, 1); at least one channel stays. */
  fraction: number;
  /**
   * Channel score: L1 (default) or L2 norm of the output filter, or 'bn': |gamma| of the
   * BatchNormalization right after the layer (network slimming, Liu et al. 2017; L1 where
   * there is none).
   */
  norm?: ChannelNorm | 'bn';
  /**
   * 'layer' (default): each layer loses `fraction` of its channels. 'global': the lowest
   * `fraction` of all chosen channels by one ranking (scores must be comparable across
   * layers, as BN gammas are); every layer keeps at least one channel.
   */
  scope?: 'layer' | 'global';
  /** Only layers whose node label or weight name matches one of these globs. */
  include?: readonly string[];
  /** Never layers whose node label or weight name matches one of these globs. */
  exclude?: readonly string[];
}

export interface ChannelLayerReport {
  readonly layer: string;
  readonly op: string;
  readonly weight: string;
  readonly channelsBefore: number;
  readonly channelsAfter: number;
  /** Removed channel indices (of the original numbering). */
  readonly removed: number[];
  /** Labels of the layers whose input channels were cut too. */
  readonly consumers: string[];
}

export interface ChannelPruneResult {
  /** The smaller dense model (Constant-node weights become initializers). */
  readonly model: ModelProto;
  /** The prepared original (same numbering), for references. */
  readonly prepared: ModelProto;
  readonly removal: Map<string, number[]>;
  readonly layers: ChannelLayerReport[];
  readonly skipped: SkippedLayer[];
}

function weightValues(model: ModelProto, name: string): { values: Float32Array; shape: number[] } {
  const t = model.graph!.initializer.find((x) => x.name === name)!;
  const tensor = tensorFromProto(t);
  return { values: toFloat32(tensor), shape: [...tensor.shape] };
}

/** Reads a weight's values and shape by name. */
export type WeightReader = (name: string) => { values: Float32Array; shape: readonly number[] };

/** Channel scores of one layer: |gamma| of its BatchNormalization for 'bn' (L1 when it has none), else the filter norm. */
export function layerScores(read: WeightReader, p: ChannelLayerPlan, norm: ChannelNorm | 'bn'): Float64Array {
  if (norm === 'bn' && p.bnScale) return Float64Array.from(read(p.bnScale).values, Math.abs);
  const w = read(p.weight);
  return channelNorms(w.values, w.shape, p.channelAxis, norm === 'bn' ? 'l1' : norm);
}

/** The channels to remove per layer for `fraction`, per layer or under one global ranking. */
export function chooseRemoval(scores: readonly Float64Array[], fraction: number, scope: 'layer' | 'global' = 'layer'): number[][] {
  return scope === 'global' ? globalRemoval(scores, fraction) : scores.map((s) => channelsToRemove(s, fraction));
}

/** The prunable layers of `plan` that the include/exclude globs select; E_UNSUPPORTED naming the blocking ops when none. */
export function chooseChannelLayers(
  plan: ChannelPlan,
  include: readonly string[] = [],
  exclude: readonly string[] = [],
): ChannelLayerPlan[] {
  const inc = include.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  const matches = (p: ChannelLayerPlan, globs: RegExp[]) => globs.some((g) => g.test(p.layer) || g.test(p.weight));
  const chosen = plan.layers.filter((p) => (inc.length === 0 || matches(p, inc)) && !(exc.length > 0 && matches(p, exc)));
  if (chosen.length === 0) {
    const blockers = [...new Set(plan.skipped.map((s) => s.blockingOp))];
    const detail = plan.skipped
      .slice(0, 5)
      .map((s) => `${s.layer}: ${s.reason}`)
      .join('; ');
    throw new ModelpressError(
      'E_UNSUPPORTED',
      plan.layers.length === 0
        ? `no layer can be channel-pruned: blocked by ${blockers.join(', ') || 'no Conv/Gemm/MatMul layers with constant weights'}${detail ? ` (${detail})` : ''}`
        : `no channel-prunable layer matches --include/--exclude (prunable: ${plan.layers.map((p) => p.layer).join(', ')})`,
    );
  }
  return chosen;
}

/** One ranking over every layer's channels: the lowest round(fraction x total) go, each layer keeping at least one. */
function globalRemoval(scores: readonly Float64Array[], fraction: number): number[][] {
  const all: { layer: number; channel: number; score: number }[] = [];
  scores.forEach((s, layer) => s.forEach((score, channel) => all.push({ layer, channel, score })));
  all.sort((a, b) => a.score - b.score || a.layer - b.layer || a.channel - b.channel);
  const target = Math.round(fraction * all.length);
  const left = scores.map((s) => s.length);
  const removed: number[][] = scores.map(() => []);
  let count = 0;
  for (const c of all) {
    if (count >= target) break;
    if (left[c.layer]! <= 1) continue;
    removed[c.layer]!.push(c.channel);
    left[c.layer]!--;
    count++;
  }
  return removed.map((r) => r.sort((a, b) => a - b));
}

/** What the report says of one cut layer: its channels before and after, the removed indices and the layers cut with it. */
export function layerReport(p: ChannelLayerPlan, removed: number[]): ChannelLayerReport {
  return {
    layer: p.layer,
    op: p.op,
    weight: p.weight,
    channelsBefore: p.channels,
    channelsAfter: p.channels - removed.length,
    removed,
    consumers: p.consumers,
  };
}

/**
 * Removes the lowest-norm `fraction` of output channels of every prunable
 * layer. E_UNSUPPORTED naming the blocking ops when no layer can be cut.
 */
export function pruneChannels(model: ModelProto, opts: ChannelPruneOptions): ChannelPruneResult {
  if (!(opts.fraction >= 0 && opts.fraction < 1))
    throw new ModelpressError('E_ARG', `channel fraction must be in [0, 1), got ${opts.fraction}`);
  const prepared = prepareForChannelPruning(model);
  const plan = planChannelPruning(prepared);
  const chosen = chooseChannelLayers(plan, opts.include, opts.exclude);
  const scores = chosen.map((p) => layerScores((name) => weightValues(prepared, name), p, opts.norm ?? 'l1'));
  const removedSets = chooseRemoval(scores, opts.fraction, opts.scope);
  const removal = new Map<string, number[]>();
  const layers: ChannelLayerReport[] = [];
  chosen.forEach((p, i) => {
    const removed = removedSets[i]!;
    removal.set(p.layer, removed);
    layers.push(layerReport(p, removed));
  });
  return { model: removeChannels(prepared, removal), prepared, removal, layers, skipped: plan.skipped };
}

/**
 * Masks (1 keep, 0 zero) over every tensor the removal of `removal` slices,
 * so that training with them held makes the model compute exactly what the
 * cut model computes. `shapes` gives each tensor's dims; tensors touched by
 * several layers (a Conv's output rows and input columns) get both.
 */
export function channelMasks(
  plans: readonly ChannelLayerPlan[],
  removal: ChannelRemoval,
  shapes: (name: string) => readonly number[],
): Map<string, Uint8Array> {
  const masks = new Map<string, Uint8Array>();
  for (const p of plans) {
    const removed = removal.get(p.layer);
    if (!removed || removed.length === 0) continue;
    for (const edit of p.edits) {
      if (edit.kind !== 'slice') continue;
      const shape = shapes(edit.tensor);
      const count = shape.reduce((a, b) => a * b, 1);
      const mask = masks.get(edit.tensor) ?? new Uint8Array(count).fill(1);
      const len = shape[edit.axis]!;
      const inner = shape.slice(edit.axis + 1).reduce((a, b) => a * b, 1);
      const outer = count / (len * inner);
      for (let o = 0; o < outer; o++)
        for (const c of removed) mask.fill(0, (o * len + c * edit.block) * inner, (o * len + (c + 1) * edit.block) * inner);
      masks.set(edit.tensor, mask);
    }
  }
  return masks;
}
