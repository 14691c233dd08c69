/**
 * `modelpress cluster <in> -o <out> --bits B [--bits-conv B1 --bits-fc B2]
 * [--init linear|density|random|kmeans++|exact] [--data <name> --finetune-epochs N] [--json]`:
 * per-layer k-means weight sharing with centroid fine-tuning. The output
 * holds each weight as uint8 indices + float32 codebook behind Cast + Gather.
 */
import { Option, type Command } from 'commander';
import { clusterModel, KMEANS_INITS } from '../../compress/cluster.js';
import { ModelpressError } from '../../core/errors.js';
import { fileSize } from '../../node/fs.js';
import type { KmeansInit } from '../../quantize/kmeans.js';
import type { CliIO } from '../io.js';
import { adam, addDataOptions, checkOutput, intArg, loadData, pct, readModel, type DataCliOptions } from './compress-common.js';
import { createNodeRunner } from '../../node/ort-runner.js';
import { epochJson, epochLine, trainingProgress, writeTrainedModel } from './train.js';
import { sampleCount } from '../../data/dataset.js';

interface ClusterCliOptions extends DataCliOptions {
  output: string;
  bits: number;
  bitsConv?: number;
  bitsFc?: number;
  init: KmeansInit | 'exact';
  finetuneEpochs?: number;
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('cluster')
    .description('weight sharing: per-layer k-means (2^bits centroids, pruned zeros kept) with centroid fine-tuning; output: uint8 indices + codebook behind a Gather')
    .argument('<model>', 'ONNX classifier')
    .requiredOption('-o, --output <file>', 'where to write the clustered model')
    .requiredOption('--bits <n>', 'index bits per weight, 1..8', intArg('--bits', 1, 8))
    .option('--bits-conv <n>', 'bits for Conv weights (default --bits)', intArg('--bits-conv', 1, 8))
    .option('--bits-fc <n>', 'bits for Gemm/MatMul weights (default --bits)', intArg('--bits-fc', 1, 8))
    .addOption(new Option('--init <how>', 'centroid initialization (exact = optimal 1-D clustering)').choices([...KMEANS_INITS, 'exact']).default('linear'))
    .option('--finetune-epochs <n>', 'epochs of centroid fine-tuning on --data (default 1 with --data)', intArg('--finetune-epochs', 0));
  addDataOptions(cmd, { dataRequired: false, lr: '1e-4' }).action(async (input: string, opts: ClusterCliOptions) => {
    checkOutput(opts.output, input);
    if (opts.finetuneEpochs !== undefined && opts.finetuneEpochs > 0 && opts.data === undefined) throw new ModelpressError('E_ARG', '--finetune-epochs needs --data (the images to fine-tune the centroids on)');
    const model = readModel(input);
    const data = opts.data === undefined ? undefined : await loadData(opts);
    const epochs = data ? (opts.finetuneEpochs ?? 1) : 0;
    const progress = trainingProgress(io);
    let r;
    try {
      r = await clusterModel(model, {
        openRunner: createNodeRunner,
        bits: opts.bits,
        ...(opts.bitsConv === undefined ? {} : { bitsConv: opts.bitsConv }),
        ...(opts.bitsFc === undefined ? {} : { bitsFc: opts.bitsFc }),
        init: opts.init,
        seed: opts.seed + 1,
        ...(data ? { test: data.test } : {}),
        ...(data && epochs > 0 ? { train: data.train, epochs } : {}),
        batchSize: opts.batchSize,
        trainSeed: opts.seed,
        optimizer: adam(opts, 1e-4),
        onProgress: progress.onProgress,
        file: input,
      });
    } finally {
      progress.stop();
    }
    const bytes = writeTrainedModel(r.model, opts.output);
    const report = {
      schema: 'modelpress.cluster/1',
      command: 'cluster',
      input,
      inputBytes: fileSize(input),
      output: opts.output,
      outputBytes: bytes,
      bits: opts.bits,
      bitsConv: opts.bitsConv ?? opts.bits,
      bitsFc: opts.bitsFc ?? opts.bits,
      init: opts.init,
      format: 'uint8 indices + float32 codebook -> Cast(int32) -> Gather',
      layers: r.layers.map((l) => ({ name: l.name, kind: l.kind, bits: l.bits, shape: l.shape, centroids: l.centroids, zeros: l.zeros, kmeansMse: l.mse, codebook: l.codebook, indices: l.indices })),
      data: opts.data ?? null,
      seed: opts.seed,
      finetuneEpochs: epochs,
      trainExamples: epochs > 0 ? sampleCount(data!.train) : 0,
      testExamples: data ? sampleCount(data.test) : 0,
      accuracy: r.accuracy ? { input: r.accuracy.input.accuracy, clustered: r.accuracy.clustered.accuracy, finetuned: r.accuracy.finetuned?.accuracy ?? null } : null,
      epochs: r.history.map(epochJson),
    };
    if (opts.json) {
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    for (const l of r.layers) io.stdout(`${l.name.padEnd(24)} ${l.kind.padEnd(4)} ${l.bits} bits  ${String(l.centroids).padStart(3)} centroids  ${l.zeros} zeros kept  k-means MSE ${l.mse.toExponential(3)}\n`);
    if (!io.isTTY) for (const h of r.history) io.stdout(`${epochLine(h, epochs)}\n`);
    if (r.accuracy) io.stdout(`test accuracy: input ${pct(r.accuracy.input.accuracy)}, clustered ${pct(r.accuracy.clustered.accuracy)}${r.accuracy.finetuned ? `, after ${epochs} epoch(s) of centroid fine-tuning ${pct(r.accuracy.finetuned.accuracy)}` : ''} (${r.accuracy.input.count} examples)\n`);
    io.stdout(`wrote ${opts.output} (${bytes} bytes)\n`);
  });
}
