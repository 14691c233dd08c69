/**
 * `modelpress cluster <in> -o <out> --bits B [--bits-conv B1 --bits-fc B2]
 * [--init linear|density|random|kmeans++|exact] [--data <name> --finetune-epochs N] [--json]`:
 * per-layer k-means weight sharing with centroid fine-tuning. The output
 * holds each weight as uint8 indices + float32 codebook behind Cast + Gather.
 */
import { modelInputs } from '../data.js';
import type { Command } from 'commander';
import { clusterModel, KMEANS_INITS } from '../../compress/cluster.js';
import { ModelpressError } from '../../core/errors.js';
import { createNodeRunner } from '../../node/ort-runner.js';
import type { KmeansInit } from '../../quantize/kmeans.js';
import type { CliIO } from '../io.js';
import {
  addDataOptions,
  addOptions,
  addOutputOptions,
  addTrainingOptions,
  int,
  oneOf,
  option,
  type DataCliOptions,
  type TrainingCliOptions,
} from '../options.js';
import {
  addFidelityOptions,
  checkFidelityFlags,
  enforceFidelity,
  fidelityJson,
  fidelityLines,
  measureFidelity,
  type FidelityFlags,
} from '../fidelity.js';
import {
  kdTemperatureOption,
  labelFreeDistillation,
  labelFreeLossName,
  type KdFlags,
  checkOutput,
  epochJson,
  loadData,
  modelReportHead,
  optimizerSpec,
  pct,
  printEpochs,
  readModel,
  trainingProgress,
  writeTrainedModel,
} from '../training.js';
import { sampleCount } from '../../data/dataset.js';

interface ClusterCliOptions
  extends Partial<DataCliOptions>,
    Omit<TrainingCliOptions, 'epochs' | 'valSize' | 'patience'>,
    FidelityFlags,
    KdFlags {
  output: string;
  bits: number;
  bitsConv?: number;
  bitsFc?: number;
  init: KmeansInit | 'exact';
  finetuneEpochs?: number;
  json?: boolean;
}

/** Centroids move little: a smaller learning rate than training from scratch. */
const CLUSTER_LR = 1e-4;
const INITS = [...KMEANS_INITS, 'exact'] as const;

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('cluster')
    .description(
      'weight sharing: per-layer k-means (2^bits centroids, pruned zeros kept) with centroid fine-tuning; output: uint8 indices + codebook behind a Gather',
    )
    .argument('<model>', 'ONNX classifier');
  const bits = int({ min: 1, max: 8 });
  addOptions(
    cmd,
    option('--bits <n>', 'index bits per weight, 1..8 (2^bits centroids)', { parse: bits, required: true }),
    option('--bits-conv <n>', 'bits for Conv weights', { parse: bits, defaultText: '--bits' }),
    option('--bits-fc <n>', 'bits for Gemm/MatMul weights', { parse: bits, defaultText: '--bits' }),
    option(
      '--init <how>',
      "centroid initialization: linear (evenly over [min, max]; Deep Compression's best), density, random, kmeans++, or exact (optimal 1-D clustering)",
      {
        parse: oneOf(INITS),
        choices: INITS,
        default: 'linear',
      },
    ),
  );
  addDataOptions(cmd, { what: 'data for accuracy before/after and centroid fine-tuning (without it: k-means only)' });
  addTrainingOptions(cmd, {
    epochsFlag: '--finetune-epochs',
    epochsMin: 0,
    epochsHelp: 'centroid fine-tuning epochs on --data; 0 measures without fine-tuning (default: 1 with --data)',
    lr: '1e-4 for adam/adamw, 0.01 for sgd',
    lrSchedule: 'constant',
    what: 'centroid fine-tuning',
    seeds: 'shuffling; random/kmeans++ initialization uses seed + 1',
    without: ['valSize', 'patience'],
  });
  addOptions(cmd, kdTemperatureOption());
  addFidelityOptions(cmd, { labels: true });
  addOutputOptions(cmd, {
    output: 'where to write the clustered model (must differ from the input)',
    json: 'print a JSON report on stdout (schema modelpress.cluster/1, docs/CLI.md)',
  });
  cmd.action(async (input: string, opts: ClusterCliOptions) => {
    checkOutput(opts.output, input, ...(opts.data === undefined ? [] : [opts.data]));
    if (opts.finetuneEpochs !== undefined && opts.finetuneEpochs > 0 && opts.data === undefined)
      throw new ModelpressError('E_ARG', '--finetune-epochs needs --data (the images to fine-tune the centroids on)');
    const model = readModel(input, [opts.output]);
    // Data without labels: the centroids are fine-tuned by distillation from the input model (MSE, or KL with --kd-temperature).
    const data =
      opts.data === undefined ? undefined : await loadData({ ...opts, data: opts.data, labels: 'optional', inputs: modelInputs(model) });
    checkFidelityFlags(opts, data, opts.data);
    const epochs = data ? (opts.finetuneEpochs ?? 1) : 0;
    const progress = trainingProgress(io);
    let r: Awaited<ReturnType<typeof clusterModel>>;
    try {
      r = await clusterModel(model, {
        openRunner: createNodeRunner,
        bits: opts.bits,
        ...(opts.bitsConv === undefined ? {} : { bitsConv: opts.bitsConv }),
        ...(opts.bitsFc === undefined ? {} : { bitsFc: opts.bitsFc }),
        init: opts.init,
        seed: opts.seed + 1,
        ...(data ? { test: data.test } : {}),
        ...(data && epochs > 0 ? await labelFreeDistillation(model, data, opts) : {}),
        ...(data && epochs > 0
          ? { train: data.train, epochs, optimizer: optimizerSpec(opts, sampleCount(data.train), epochs, CLUSTER_LR) }
          : {}),
        batchSize: opts.batchSize,
        trainSeed: opts.seed,
        onProgress: progress.onProgress,
        file: input,
      });
    } finally {
      progress.stop();
    }
    const fidelity = await measureFidelity(model, r.model, data, {
      dataName: opts.data,
      ...(r.history.length > 0 ? { beforeTraining: r.clusteredModel } : {}),
      ...(r.accuracy ? { accuracyOriginal: r.accuracy.input.accuracy } : {}),
      file: input,
    });
    enforceFidelity(io, fidelity, opts, input);
    const bytes = writeTrainedModel(r.model, opts.output);
    const report = {
      ...modelReportHead('cluster', input, opts.output, bytes),
      bits: opts.bits,
      bitsConv: opts.bitsConv ?? opts.bits,
      bitsFc: opts.bitsFc ?? opts.bits,
      init: opts.init,
      format: 'uint8 indices + float32 codebook -> Cast(int32) -> Gather',
      layers: r.layers.map((l) => ({
        name: l.name,
        kind: l.kind,
        bits: l.bits,
        shape: l.shape,
        centroids: l.centroids,
        zeros: l.zeros,
        kmeansMse: l.mse,
        codebook: l.codebook,
        indices: l.indices,
      })),
      data: opts.data ?? null,
      seed: opts.seed,
      finetuneEpochs: epochs,
      trainExamples: epochs > 0 ? sampleCount(data!.train) : 0,
      testExamples: data ? sampleCount(data.test) : 0,
      accuracy: r.accuracy
        ? { input: r.accuracy.input.accuracy, clustered: r.accuracy.clustered.accuracy, finetuned: r.accuracy.finetuned?.accuracy ?? null }
        : null,
      epochs: r.history.map(epochJson),
      labels: data ? data.train.y !== undefined : null,
      labelFreeLoss: labelFreeLossName(data, opts),
      fidelity: fidelityJson(fidelity),
    };
    if (opts.json) {
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    for (const l of r.layers)
      io.stdout(
        `${l.name.padEnd(24)} ${l.kind.padEnd(4)} ${l.bits} bits  ${String(l.centroids).padStart(3)} centroids  ${l.zeros} zeros kept  k-means MSE ${l.mse.toExponential(3)}\n`,
      );
    printEpochs(io, r.history, epochs);
    if (r.accuracy)
      io.stdout(
        `test accuracy: input ${pct(r.accuracy.input.accuracy)}, clustered ${pct(r.accuracy.clustered.accuracy)}${r.accuracy.finetuned ? `, after ${epochs} epoch(s) of centroid fine-tuning ${pct(r.accuracy.finetuned.accuracy)}` : ''} (${r.accuracy.input.count} examples)\n`,
      );
    io.stdout(fidelityLines(fidelity, 'k-means alone'));
    io.stdout(`wrote ${opts.output} (${bytes} bytes)\n`);
  });
}
