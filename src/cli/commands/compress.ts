/**
 * `modelpress compress [model.onnx] -o out.mpz`: the Deep Compression
 * pipeline end to end — (train a zoo network when no model is given,) prune
 * with fine-tuning, cluster with centroid fine-tuning, entropy-code into an
 * .mpz — with the test accuracy and size of every stage. With no model it
 * runs on the built-in default: LeNet-300-100 on Fashion-MNIST.
 */
import type { Command } from 'commander';
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { writeFileAtomic } from '../../node/fs.js';
import { readOnnxFile } from '../../node/onnx-external.js';
import { deepCompression, type StageReport } from '../../recipes/deep-compression.js';
import { parseLrSchedule } from '../../train/schedules.js';
import { train as trainModel } from '../../train/trainer.js';
import { SCHEDULE_NAMES, type ScheduleName } from '../../prune/schedule.js';
import { buildZooModel, ZOO_NAMES } from '../../train/zoo/index.js';
import type { CliIO } from '../io.js';
import { formatTable, humanBytes } from '../table.js';
import { createNodeRunner } from '../../node/ort-runner.js';
import { loadTrainingData } from '../data.js';
import { trainingProgress } from './train.js';
import { sampleCount } from '../../data/dataset.js';

interface Flags {
  output: string;
  arch: string;
  data: string;
  dataDir?: string;
  trainEpochs: number;
  sparsity: number;
  pruneEpochs: number;
  pruneSchedule: ScheduleName;
  bitsFc: number;
  bitsConv: number;
  clusterEpochs: number;
  seed: number;
  saveOnnx?: string;
  json?: boolean;
}

function num(name: string, lo: number, hi: number, integer: boolean) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < lo || n > hi || (integer && !Number.isInteger(n))) throw new ModelpressError('E_ARG', `${name} must be ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}], got "${v}"`);
    return n;
  };
}

export function register(program: Command, io: CliIO): void {
  program
    .command('compress')
    .description('Deep Compression end to end: prune + fine-tune, cluster + centroid fine-tune, entropy-code into .mpz; accuracy and size per stage (default: LeNet-300-100 trained on Fashion-MNIST)')
    .argument('[model]', 'trained ONNX classifier (default: train --arch on --data first)')
    .requiredOption('-o, --output <file.mpz>', 'the compressed container')
    .option('--arch <name>', `zoo network trained when no model is given: ${ZOO_NAMES.join(', ')}`, 'lenet-300-100')
    .option('--data <name>', 'fashion-mnist or mnist', 'fashion-mnist')
    .option('--data-dir <dir>', 'where the IDX files are (default: the Debian copy)')
    .option('--train-epochs <n>', 'epochs when training the default model', num('--train-epochs', 1, 1000, true), 12)
    .option('--sparsity <s>', 'fraction of Conv/Gemm/MatMul weights pruned, in [0, 1)', num('--sparsity', 0, 0.999999, false), 0.92)
    .option('--prune-epochs <n>', 'fine-tuning epochs while pruning', num('--prune-epochs', 1, 1000, true), 10)
    .option('--prune-schedule <s>', `how sparsity reaches its target while fine-tuning: ${SCHEDULE_NAMES.join(', ')}`, (v: string) => {
      if (!(SCHEDULE_NAMES as readonly string[]).includes(v)) throw new ModelpressError('E_ARG', `--prune-schedule must be one of ${SCHEDULE_NAMES.join(', ')}, got "${v}"`);
      return v as ScheduleName;
    }, 'polynomial')
    .option('--bits-fc <b>', 'index bits of fully connected layers', num('--bits-fc', 1, 8, true), 5)
    .option('--bits-conv <b>', 'index bits of convolutions', num('--bits-conv', 1, 8, true), 8)
    .option('--cluster-epochs <n>', 'centroid fine-tuning epochs', num('--cluster-epochs', 1, 1000, true), 2)
    .option('--seed <n>', 'seed of initialization and shuffling', num('--seed', 0, 2 ** 31, true), 0)
    .option('--save-onnx <file>', 'also write the clustered ONNX model (runs in onnxruntime as is)')
    .option('--json', 'print a JSON report on stdout')
    .action(async (modelPath: string | undefined, f: Flags) => {
      if (!f.output.endsWith('.mpz')) throw new ModelpressError('E_ARG', `-o ${f.output}: the output is an .mpz container; name it *.mpz`);
      const data = await loadTrainingData({ data: f.data, ...(f.dataDir ? { dataDir: f.dataDir } : {}), seed: f.seed, valSize: 5000 });
      const say = (s: string) => {
        if (!f.json) io.stderr(`modelpress: ${s}\n`);
      };
      const progress = trainingProgress(io);
      try {
        let model: ModelProto;
        let source: string;
        if (modelPath) {
          model = readOnnxFile(modelPath).proto;
          source = modelPath;
        } else {
          say(`training ${f.arch} on ${f.data} for ${f.trainEpochs} epochs (seed ${f.seed})`);
          const trained = await trainModel({ openRunner: createNodeRunner, model: buildZooModel(f.arch, { seed: f.seed }), train: data.train, ...(data.validation ? { validation: data.validation } : {}), epochs: f.trainEpochs, seed: f.seed, optimizer: { name: 'adam', lr: 1e-3, schedule: parseLrSchedule('cosine', Math.ceil(sampleCount(data.train) / 64), f.trainEpochs) }, onProgress: progress.onProgress });
          model = trained.model;
          source = `${f.arch} trained on ${f.data} (${f.trainEpochs} epochs, seed ${f.seed})`;
        }
        const result = await deepCompression({
          openRunner: createNodeRunner,
          model,
          train: data.train,
          validation: data.validation,
          test: data.test,
          sparsity: f.sparsity,
          pruneEpochs: f.pruneEpochs,
          pruneSchedule: f.pruneSchedule,
          bitsFc: f.bitsFc,
          bitsConv: f.bitsConv,
          clusterEpochs: f.clusterEpochs,
          seed: f.seed,
          onStage: say,
          onProgress: progress.onProgress,
          ...(modelPath ? { file: modelPath } : {}),
        });
        progress.stop();
        writeFileAtomic(f.output, result.mpz);
        if (f.saveOnnx) {
          const { writeOnnxFile } = await import('../../node/onnx-external.js');
          writeOnnxFile(f.saveOnnx, result.model);
        }
        const base = result.stages[0]!;
        const row = (s: StageReport) => [s.stage, `${(s.accuracy * 100).toFixed(2)}%`, `${((s.accuracy - base.accuracy) * 100).toFixed(2)}`, humanBytes(s.bytes), `${(base.bytes / s.bytes).toFixed(1)}x`, `${((s.nonzero / s.params) * 100).toFixed(1)}%`];
        if (f.json) {
          io.stdout(
            `${JSON.stringify(
              {
                schema: 'modelpress.compress/1',
                source,
                output: f.output,
                settings: { sparsity: f.sparsity, pruneEpochs: f.pruneEpochs, pruneSchedule: f.pruneSchedule, bitsFc: f.bitsFc, bitsConv: f.bitsConv, clusterEpochs: f.clusterEpochs, seed: f.seed },
                stages: result.stages.map((s) => ({ stage: s.stage, accuracy: s.accuracy, bytes: s.bytes, params: s.params, nonzero: s.nonzero, ratio: base.bytes / s.bytes })),
                compression_ratio: result.ratio,
                accuracy_delta: result.stages.at(-1)!.accuracy - base.accuracy,
                pack: { stages: result.pack.stages, skeleton: result.pack.skeleton },
              },
              null,
              2,
            )}\n`,
          );
          return;
        }
        io.stdout(`${source}\n`);
        io.stdout(formatTable(['stage', { header: 'test accuracy', align: 'right' }, { header: 'delta (points)', align: 'right' }, { header: 'size', align: 'right' }, { header: 'ratio', align: 'right' }, { header: 'non-zero weights', align: 'right' }], result.stages.map(row)));
        io.stdout(`${f.output}: ${result.ratio.toFixed(1)}x smaller than the float32 model, ${((result.stages.at(-1)!.accuracy - base.accuracy) * 100).toFixed(2)} points of test accuracy\n`);
      } finally {
        progress.stop();
      }
    });
}
