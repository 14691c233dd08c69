/**
 * `modelpress train --arch <zoo name> --data fashion-mnist --epochs N -o model.onnx`:
 * builds a zoo network, trains it from scratch with the ONNX training engine
 * on onnxruntime-node, reports per-epoch loss/accuracy and the test accuracy,
 * and writes the trained model (machinery in ../training.ts); `--arch byte-lm
 * --data text.txt` trains the zoo language model instead (../lm-training.ts).
 */
import type { Command } from 'commander';
import { ZOO_NAMES, buildZooModel } from '../../train/zoo/index.js';
import type { CliIO } from '../io.js';
import { addDataOptions, addOptions, addOutputOptions, addTrainingOptions, oneOf, option } from '../options.js';
import { checkArchFlags, LM_ARCH, lmOptions, runLmTraining, type LmCliOptions } from '../lm-training.js';
import { checkSparsityFlags, sparsityOptions, checkOutput, loadData, runTraining, type TrainCommandOptions } from '../training.js';

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('train')
    .description('train a model-zoo network from scratch on an image dataset (or the byte-level LM on a .txt file) and write it as ONNX');
  const archs = [...ZOO_NAMES, LM_ARCH];
  addOptions(cmd, option('--arch <name>', 'network from the model zoo', { parse: oneOf(archs), choices: archs, required: true }));
  addDataOptions(cmd, { what: 'training and test data', default: 'fashion-mnist' });
  addOptions(cmd, ...sparsityOptions());
  addOptions(cmd, ...lmOptions());
  addTrainingOptions(cmd, { epochs: 12, lrSchedule: 'cosine' });
  addOutputOptions(cmd, {
    output: 'where to write the trained ONNX model',
    json: 'print a JSON report on stdout (schema modelpress.train/1, docs/CLI.md)',
  });
  cmd.action(async (opts: TrainCommandOptions & { arch: string }) => {
    checkOutput(opts.output);
    checkArchFlags(opts.arch, (key) => cmd.getOptionValueSource(key) === 'cli');
    if (opts.arch === LM_ARCH)
      return runLmTraining(io, opts as unknown as LmCliOptions, cmd.getOptionValueSource('testFraction') === 'cli');
    const model = buildZooModel(opts.arch, { seed: opts.seed });
    checkSparsityFlags(model, opts);
    const data = await loadData(opts);
    await runTraining(io, opts, { model, data, report: { command: 'train', arch: opts.arch } });
  });
}
