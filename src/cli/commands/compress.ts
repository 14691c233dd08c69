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
import { onnxModelFiles, readOnnxFile, writeOnnxFile } from '../../node/onnx-external.js';
import { checkOutputs } from '../../node/output.js';
import { createNodeRunner } from '../../node/ort-runner.js';
import { deepCompression, type StageReport } from '../../recipes/deep-compression.js';
import { train as trainModel } from '../../train/trainer.js';
import { SCHEDULE_NAMES, type ScheduleName } from '../../prune/schedule.js';
import { buildZooModel, ZOO_NAMES } from '../../train/zoo/index.js';
import type { CliIO } from '../io.js';
import {
  addDataOptions,
  addOptions,
  addOutputOptions,
  fraction,
  int,
  oneOf,
  option,
  seedOption,
  type DataCliOptions,
  followSymlinksOption,
} from '../options.js';
import { formatTable, humanBytes } from '../table.js';
import { checkOutput, loadData, trainingProgress, trainingRun } from '../training.js';

interface Flags extends DataCliOptions {
  output: string;
  followSymlinks?: boolean;
  arch: string;
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

const COMPRESS_SCHEMA = 'modelpress.compress/2';
/** The baseline a model-less run trains, as `train` would (Adam 1e-3, cosine, batch 64). */
const BASELINE_TRAINING = { optimizer: 'adam', lrSchedule: 'cosine', batchSize: 64 } as const;

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('compress')
    .description(
      'Deep Compression end to end: prune + fine-tune, cluster + centroid fine-tune, entropy-code into .mpz; accuracy and size per stage (default: LeNet-300-100 trained on Fashion-MNIST)',
    )
    .argument('[model]', 'trained ONNX classifier, external data read (default: train --arch on --data first)');
  const epochs = int({ min: 1, max: 1000 });
  const bits = int({ min: 1, max: 8 });
  addOptions(
    cmd,
    option('--arch <name>', 'zoo network trained when no model is given (see train)', {
      parse: oneOf(ZOO_NAMES),
      choices: ZOO_NAMES,
      default: 'lenet-300-100',
    }),
  );
  addDataOptions(cmd, { what: 'training (minus a seeded 5,000-example hold-out) and test data', default: 'fashion-mnist' });
  addOptions(
    cmd,
    option('--train-epochs <n>', 'epochs when training the default model, 1..1000', { parse: epochs, default: 12 }),
    option('--sparsity <s>', 'share of the Conv/Gemm/MatMul weights pruned (one global threshold)', {
      parse: fraction({ below1: true }),
      default: 0.92,
    }),
    option('--prune-epochs <n>', 'fine-tuning epochs while pruning, 1..1000', { parse: epochs, default: 10 }),
    option('--prune-schedule <s>', 'how the sparsity reaches its target while fine-tuning (see prune; iterative: 4 stages)', {
      parse: oneOf(SCHEDULE_NAMES),
      choices: SCHEDULE_NAMES,
      default: 'polynomial',
    }),
    option('--bits-fc <b>', 'index bits of Gemm/MatMul weights, 1..8', { parse: bits, default: 5 }),
    option('--bits-conv <b>', 'index bits of Conv weights, 1..8', { parse: bits, default: 8 }),
    option('--cluster-epochs <n>', 'centroid fine-tuning epochs, 1..1000', { parse: epochs, default: 2 }),
    seedOption('initialization, the hold-out split and shuffling'),
    option('--save-onnx <file>', 'also write the clustered ONNX model (runs in onnxruntime as is)'),
    followSymlinksOption(),
  );
  addOutputOptions(cmd, {
    output: 'the compressed container; the name must end in .mpz',
    json: `print a JSON report on stdout (schema ${COMPRESS_SCHEMA}, docs/CLI.md)`,
  });
  cmd.action(async (modelPath: string | undefined, f: Flags) => {
    if (!f.output.endsWith('.mpz')) throw new ModelpressError('E_ARG', `-o ${f.output}: the output is an .mpz container; name it *.mpz`);
    const inputs = [...(modelPath === undefined ? [] : [modelPath]), f.data];
    checkOutput(f.output, ...inputs);
    if (f.saveOnnx !== undefined) checkOutput(f.saveOnnx, ...inputs, f.output);
    const data = await loadData({ ...f, valSize: 5000 });
    const say = (s: string) => {
      if (!f.json) io.stderr(`modelpress: ${s}\n`);
    };
    const progress = trainingProgress(io);
    try {
      let model: ModelProto;
      let source: string;
      if (modelPath) {
        model = readOnnxFile(modelPath, { followSymlinks: f.followSymlinks }).proto;
        checkOutputs([f.output, ...(f.saveOnnx === undefined ? [] : [f.saveOnnx])], onnxModelFiles(modelPath, model));
        source = modelPath;
      } else {
        say(`training ${f.arch} on ${f.data} for ${f.trainEpochs} epochs (seed ${f.seed})`);
        const trained = await trainModel({
          ...trainingRun({ ...BASELINE_TRAINING, seed: f.seed }, data, f.trainEpochs, progress.onProgress),
          model: buildZooModel(f.arch, { seed: f.seed }),
        });
        model = trained.model;
        source = `${f.arch} trained on ${f.data} (${f.trainEpochs} epochs, seed ${f.seed})`;
      }
      // What the pipeline runs with, and what --json reports as its settings.
      const settings = {
        sparsity: f.sparsity,
        pruneEpochs: f.pruneEpochs,
        pruneSchedule: f.pruneSchedule,
        bitsFc: f.bitsFc,
        bitsConv: f.bitsConv,
        clusterEpochs: f.clusterEpochs,
        seed: f.seed,
      };
      const result = await deepCompression({
        openRunner: createNodeRunner,
        model,
        train: data.train,
        validation: data.validation,
        test: data.test,
        ...settings,
        onStage: say,
        onProgress: progress.onProgress,
        ...(modelPath ? { file: modelPath } : {}),
      });
      progress.stop();
      writeFileAtomic(f.output, result.mpz);
      if (f.saveOnnx) {
        writeOnnxFile(f.saveOnnx, result.model);
      }
      const base = result.stages[0]!;
      const row = (s: StageReport) => [
        s.stage,
        `${(s.accuracy * 100).toFixed(2)}%`,
        `${((s.accuracy - base.accuracy) * 100).toFixed(2)}`,
        humanBytes(s.bytes),
        `${(base.bytes / s.bytes).toFixed(1)}x`,
        `${((s.nonzero / s.params) * 100).toFixed(1)}%`,
      ];
      if (f.json) {
        io.stdout(
          `${JSON.stringify(
            {
              schema: COMPRESS_SCHEMA,
              source,
              output: f.output,
              settings,
              stages: result.stages.map((s) => ({
                stage: s.stage,
                accuracy: s.accuracy,
                bytes: s.bytes,
                params: s.params,
                nonzero: s.nonzero,
                ratio: base.bytes / s.bytes,
              })),
              compressionRatio: result.ratio,
              accuracyDelta: result.stages.at(-1)!.accuracy - base.accuracy,
              pack: { stages: result.pack.stages, skeleton: result.pack.skeleton },
            },
            null,
            2,
          )}\n`,
        );
        return;
      }
      io.stdout(`${source}\n`);
      io.stdout(
        formatTable(
          [
            'stage',
            { header: 'test accuracy', align: 'right' },
            { header: 'delta (points)', align: 'right' },
            { header: 'size', align: 'right' },
            { header: 'ratio', align: 'right' },
            { header: 'non-zero weights', align: 'right' },
          ],
          result.stages.map(row),
        ),
      );
      io.stdout(
        `${f.output}: ${result.ratio.toFixed(1)}x smaller than the float32 model, ${((result.stages.at(-1)!.accuracy - base.accuracy) * 100).toFixed(2)} points of test accuracy\n`,
      );
    } finally {
      progress.stop();
    }
  });
}
