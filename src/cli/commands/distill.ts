/**
 * `modelpress distill --teacher t.onnx --student <zoo arch | mlp-H | s.onnx>
 * --data <name> --temperature T --alpha A --epochs N -o s.onnx [--compare-labels] [--json]`:
 * knowledge distillation with teacher logits from onnxruntime.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { distill } from '../../compress/distill.js';
import { buildStudent, isStudentArch } from '../../compress/students.js';
import { ModelpressError } from '../../core/errors.js';
import { evaluateModel, train } from '../../train/trainer.js';
import type { CliIO } from '../io.js';
import { adam, addDataOptions, checkOutput, intArg, loadData, numberArg, pct, readModel, type DataCliOptions } from './compress-common.js';
import { createNodeRunner } from '../../node/ort-runner.js';
import { epochJson, epochLine, trainingProgress, writeTrainedModel } from './train.js';
import { sampleCount } from '../../data/dataset.js';

interface DistillCliOptions extends DataCliOptions {
  teacher: string;
  student: string;
  output: string;
  temperature: number;
  alpha: number;
  epochs: number;
  compareLabels?: boolean;
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('distill')
    .description('knowledge distillation: train a student on the teacher\'s temperature-softened logits (computed by onnxruntime) mixed with the labels')
    .requiredOption('--teacher <file>', 'trained teacher ONNX classifier')
    .requiredOption('--student <arch|file>', 'student: a zoo architecture, mlp-<hidden>[-<hidden>...] (e.g. mlp-32 = 784-32-10), or an ONNX file')
    .requiredOption('-o, --output <file>', 'where to write the trained student')
    .option('--temperature <T>', 'softmax temperature', numberArg('--temperature', (n) => n > 0, 'a number > 0'), 2)
    .option('--alpha <a>', 'weight of the teacher term in [0, 1] (1 - alpha on the labels)', numberArg('--alpha', (n) => n >= 0 && n <= 1, 'in [0, 1]'), 0.5)
    .option('--epochs <n>', 'training epochs', intArg('--epochs', 1), 5)
    .option('--compare-labels', 'also train the same student on the labels alone (same epochs and seed) and report both');
  addDataOptions(cmd, { dataRequired: true, lr: '1e-3' }).action(async (opts: DistillCliOptions) => {
    checkOutput(opts.output, opts.teacher, ...(isStudentArch(opts.student) ? [] : [opts.student]));
    const teacher = readModel(opts.teacher);
    let student;
    if (isStudentArch(opts.student)) student = buildStudent(opts.student, opts.seed);
    else if (existsSync(opts.student)) student = readModel(opts.student);
    else throw new ModelpressError('E_ARG', `--student '${opts.student}' is neither a known architecture (zoo names, mlp-<hidden>...) nor an existing file`);
    const data = await loadData(opts);
    const progress = trainingProgress(io);
    let r;
    try {
      r = await distill({
        openRunner: createNodeRunner,
        teacher,
        student,
        train: data.train,
        test: data.test,
        temperature: opts.temperature,
        alpha: opts.alpha,
        epochs: opts.epochs,
        batchSize: opts.batchSize,
        seed: opts.seed,
        optimizer: adam(opts, 1e-3),
        onProgress: progress.onProgress,
        teacherFile: opts.teacher,
        studentFile: opts.student,
      });
    } finally {
      progress.stop();
    }
    let labelsOnly;
    if (opts.compareLabels) {
      const b = await train({ openRunner: createNodeRunner, model: student, train: data.train, epochs: opts.epochs, batchSize: opts.batchSize, seed: opts.seed, optimizer: adam(opts, 1e-3), restoreBest: false });
      labelsOnly = await evaluateModel(createNodeRunner, b.model, data.test);
    }
    const bytes = writeTrainedModel(r.model, opts.output);
    const report = {
      schema: 'modelpress.distill/1',
      command: 'distill',
      teacher: opts.teacher,
      student: opts.student,
      output: opts.output,
      outputBytes: bytes,
      data: opts.data,
      seed: opts.seed,
      temperature: opts.temperature,
      alpha: opts.alpha,
      lr: opts.lr ?? 1e-3,
      batchSize: opts.batchSize,
      trainExamples: sampleCount(data.train),
      testExamples: sampleCount(data.test),
      epochs: r.history.map(epochJson),
      teacherTrainAccuracy: r.teacherTrainAccuracy,
      teacherTestAccuracy: r.teacherTest!.accuracy,
      studentTestAccuracy: r.studentTest!.accuracy,
      labelsOnlyTestAccuracy: labelsOnly?.accuracy ?? null,
    };
    if (opts.json) {
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    if (!io.isTTY) for (const h of r.history) io.stdout(`${epochLine(h, opts.epochs)}\n`);
    io.stdout(`test accuracy: teacher ${pct(r.teacherTest!.accuracy)}, distilled student ${pct(r.studentTest!.accuracy)}${labelsOnly ? `, same student on labels alone ${pct(labelsOnly.accuracy)}` : ''} (${sampleCount(data.test)} examples, ${opts.epochs} epochs, seed ${opts.seed})\n`);
    io.stdout(`wrote ${opts.output} (${bytes} bytes)\n`);
  });
}
