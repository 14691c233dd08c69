/**
 * Channel pruning while fine-tuning: the channels to remove are chosen again
 * as the target fraction rises (one-shot, iterative or polynomial schedule),
 * held at exactly zero by optimizer masks over every slice the surgery would
 * cut (so the masked model computes what the cut model computes), and
 * physically removed by graph surgery at the end. Browser-safe.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { createOptimizer, type StepOptimizer } from '../train/optim/index.js';
import { train, type TrainResult } from '../train/trainer.js';
import { sampleCount } from '../data/dataset.js';
import { planChannelPruning, type SkippedLayer } from './channel-plan.js';
import {
  channelMasks,
  chooseChannelLayers,
  chooseRemoval,
  layerReport,
  layerScores,
  prepareForChannelPruning,
  removeChannels,
  type ChannelLayerReport,
  type ChannelPruneOptions,
} from './channel-surgery.js';
import { finetuneTrainOptions, type FinetuneRunOptions } from './finetune.js';
import { makeSchedule, type ScheduleName } from './schedule.js';

export interface ChannelFinetuneOptions extends ChannelPruneOptions, FinetuneRunOptions {
  /** The unpruned model (not modified). */
  model: ModelProto;
  /** How the removed fraction reaches `fraction`; default 'polynomial'. */
  schedule?: ScheduleName;
}

export interface ChannelFinetuneResult {
  /** The fine-tuned, physically smaller model. */
  model: ModelProto;
  removal: Map<string, number[]>;
  layers: ChannelLayerReport[];
  skipped: SkippedLayer[];
  train: TrainResult;
  /** The fine-tuned model before the cut (masked channels zero, original shapes). */
  masked: ModelProto;
  /** (step, fraction) whenever the channel choice was updated. */
  updates: { step: number; fraction: number }[];
}

export async function pruneChannelsWhileFinetuning(o: ChannelFinetuneOptions): Promise<ChannelFinetuneResult> {
  if (!(o.fraction >= 0 && o.fraction < 1)) throw new ModelpressError('E_ARG', `channel fraction must be in [0, 1), got ${o.fraction}`);
  const prepared = prepareForChannelPruning(o.model);
  const plan = planChannelPruning(prepared);
  const chosen = chooseChannelLayers(plan, o.include, o.exclude);
  const shapes = new Map(prepared.graph!.initializer.map((t) => [t.name, t.dims.map(Number)]));
  const batchSize = o.batchSize ?? 64;
  const totalSteps = Math.ceil(sampleCount(o.train) / batchSize) * o.epochs;
  const fractionAt = makeSchedule(o.schedule ?? 'polynomial', o.fraction, {
    totalSteps,
    ...(o.stages === undefined ? {} : { stages: o.stages }),
    ...(o.rampFraction === undefined ? {} : { rampFraction: o.rampFraction }),
  });
  const every = (o.schedule ?? 'polynomial') === 'polynomial' ? (o.maskUpdateEvery ?? 50) : 0;
  let optimizer: StepOptimizer | undefined;
  let trainable = new Set<string>();
  let removal = new Map<string, number[]>();
  let current = -1;
  let lastUpdate = -Infinity;
  const updates: { step: number; fraction: number }[] = [];
  const update = (weights: ReadonlyMap<string, Float32Array>, step: number, force: boolean): void => {
    const f = fractionAt(step);
    if (f === current || (!force && step - lastUpdate < every && f !== o.fraction)) return;
    const read = (name: string) => ({ values: weights.get(name)!, shape: shapes.get(name)! });
    // Channels already removed score -1: they stay removed as the fraction grows.
    const scores = chosen.map((p) => {
      const s = layerScores(read, p, o.norm ?? 'l1');
      for (const c of removal.get(p.layer) ?? []) s[c] = -1;
      return s;
    });
    const sets = chooseRemoval(scores, f, o.scope);
    removal = new Map(chosen.map((p, i) => [p.layer, sets[i]!]));
    for (const [name, mask] of channelMasks(chosen, removal, (n) => shapes.get(n)!))
      if (trainable.has(name)) optimizer!.setMask(name, mask);
    current = f;
    lastUpdate = step;
    updates.push({ step, fraction: f });
  };
  const result = await train({
    ...finetuneTrainOptions(o, batchSize),
    model: prepared,
    restoreBest: false,
    optimizer: (params) => {
      optimizer = createOptimizer(params, o.optimizer ?? { name: 'adam', lr: 1e-3 });
      trainable = new Set(params.map((p) => p.name));
      update(new Map(params.map((p) => [p.name, p.data])), 0, true);
      return optimizer;
    },
    afterStep: (weights, step) => update(weights, step, false),
  });
  if (current !== o.fraction)
    throw new ModelpressError('E_ARG', `the schedule did not reach fraction ${o.fraction} (reached ${current}); use more steps`);
  const layers = chosen.map((p) => layerReport(p, removal.get(p.layer)!));
  return {
    model: removeChannels(result.model, removal),
    removal,
    layers,
    skipped: plan.skipped,
    train: result,
    masked: result.model,
    updates,
  };
}
