/**
 * `modelpress finetune <model.onnx> --data <dataset> --epochs N -o out.onnx`:
 * continues training a model made elsewhere (a PyTorch export, a pruned model)
 * and writes it back with the same graph and new weights.
 */
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { ModelpressError } from '../../core/errors.js';
import { readOnnx } from '../../formats/onnx/read.js';
import { readFileChecked } from '../../node/fs.js';
import { evaluateModel } from '../../train/trainer.js';
import type { CliIO } from '../io.js';
import { addTrainingOptions, loadTrainingDataSpec, ort, runTraining, type TrainingCliOptions } from './train.js';

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('finetune')
    .description('continue training an ONNX classifier on an image dataset; same graph, new weights')
    .argument('<model>', 'ONNX model: one float input taking the images, logits [N, classes] as first output');
  addTrainingOptions(cmd, { epochs: 1, lr: '1e-4 for adam/adamw, 0.01 for sgd', lrSchedule: 'constant' }).action(async (modelPath: string, opts: TrainingCliOptions) => {
    if (resolve(modelPath) === resolve(opts.output)) throw new ModelpressError('E_ARG', '--output must differ from the input model', { file: opts.output });
    const bytes = readFileChecked(modelPath);
    const model = readOnnx(bytes, { file: modelPath, loadExternal: (loc) => readFileChecked(resolve(dirname(modelPath), loc)) }).proto;
    const data = await loadTrainingDataSpec(opts);
    if (opts.lr === undefined && opts.optimizer !== 'sgd') opts.lr = 1e-4;
    const before = await evaluateModel(ort, model, data.test, { file: modelPath });
    if (!opts.json) io.stdout(`before: test accuracy ${(before.accuracy * 100).toFixed(2)}% (loss ${before.loss.toFixed(4)}) on ${before.count} examples\n`);
    await runTraining(io, opts, model, data, { command: 'finetune', input: modelPath, testAccuracyBefore: before.accuracy, testLossBefore: before.loss }, modelPath);
  });
}
