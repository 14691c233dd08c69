/**
 * `modelpress distill --teacher t.onnx --student <zoo arch | mlp-H | s.onnx>
 * --data <name> --temperature T --alpha A --epochs N -o s.onnx [--compare-labels] [--json]`:
 * knowledge distillation with teacher logits from onnxruntime.
 */
import { modelInputs } from '../data.js';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { distill } from '../../compress/distill.js';
import { buildStudent, isStudentArch } from '../../compress/students.js';
import { ModelpressError } from '../../core/errors.js';
import { createNodeRunner } from '../../node/ort-runner.js';
import { evaluateModel, train } from '../../train/trainer.js';
import type { ModelProto } from 'onnx-buf';
import type { CliIO } from '../io.js';
import {
  addDataOptions,
  addOptions,
  addOutputOptions,
  addTrainingOptions,
  fraction,
  number,
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
  labelFreeLossName,
  type KdFlags,
  checkOutput,
  epochJson,
  learningRate,
  loadData,
  optimizerSpec,
  pct,
  printEpochs,
  readModel,
  trainingProgress,
  trainingRun,
  writeTrainedModel,
} from '../training.js';
import { sampleCount } from '../../data/dataset.js';

interface DistillCliOptions extends DataCliOptions, Omit<TrainingCliOptions, 'patience'>, FidelityFlags, KdFlags {
  teacher: string;
  student: string;
  output: string;
  temperature: number;
  alpha: number;
  compareLabels?: boolean;
  json?: boolean;
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('distill')
    .description(
      "knowledge distillation: train a student on the teacher's temperature-softened logits (computed by onnxruntime) mixed with the labels",
    );
  addOptions(
    cmd,
    option('--teacher <file>', 'trained teacher ONNX classifier (logits [N, classes])', { required: true }),
    option(
      '--student <arch|file>',
      'student: a zoo architecture (see train), mlp-<hidden>[-<hidden>...] (e.g. mlp-32 = 784-32-10, hidden sizes 1..65536), both initialized with --seed, or an ONNX file to continue from',
      {
        required: true,
      },
    ),
    option('--temperature <T>', 'softmax temperature', { parse: number({ above: 0 }), default: 2 }),
    option('--alpha <a>', 'weight of the teacher term (1 - alpha on the labels)', { parse: fraction(), default: 0.5 }),
    option('--compare-labels', 'also train the same student on the labels alone (same epochs, seed and hold-out) and report both'),
    kdTemperatureOption(),
  );
  addDataOptions(cmd, { what: 'training and test data', required: true });
  addTrainingOptions(cmd, {
    epochs: 5,
    lrSchedule: 'constant',
    valSize: 0,
    seeds: "the student's initialization, the hold-out split and shuffling",
    without: ['patience'],
  });
  addFidelityOptions(cmd, { labels: true });
  addOutputOptions(cmd, {
    output: 'where to write the trained student (must differ from the teacher and a student file)',
    json: 'print a JSON report on stdout (schema modelpress.distill/1, docs/CLI.md)',
  });
  cmd.action(async (opts: DistillCliOptions) => {
    checkOutput(opts.output, opts.teacher, opts.data, ...(isStudentArch(opts.student) ? [] : [opts.student]));
    const teacher = readModel(opts.teacher, [opts.output]);
    let student: ModelProto;
    if (isStudentArch(opts.student)) student = buildStudent(opts.student, opts.seed);
    else if (existsSync(opts.student)) student = readModel(opts.student, [opts.output]);
    else
      throw new ModelpressError(
        'E_ARG',
        `--student '${opts.student}' is neither a known architecture (zoo names, mlp-<hidden>...) nor an existing file`,
      );
    // Data without labels: the student learns the teacher's outputs alone (MSE, or KL at --kd-temperature).
    const data = await loadData({ ...opts, labels: 'optional', inputs: modelInputs(student) });
    const labelled = data.train.y !== undefined;
    checkFidelityFlags(opts, data, opts.data);
    if (opts.compareLabels && !labelled) throw new ModelpressError('E_ARG', `--compare-labels needs labels; ${opts.data} has none`);
    if (opts.kdTemperature !== undefined && labelled)
      throw new ModelpressError('E_ARG', '--kd-temperature is the label-free loss; with labels use --temperature and --alpha');
    const progress = trainingProgress(io);
    let r: Awaited<ReturnType<typeof distill>>;
    try {
      r = await distill({
        ...trainingRun(opts, data, opts.epochs, progress.onProgress),
        teacher,
        student,
        test: data.test,
        temperature: opts.temperature,
        alpha: opts.alpha,
        teacherFile: opts.teacher,
        studentFile: opts.student,
        ...(labelled ? {} : { labelFree: opts.kdTemperature === undefined ? {} : { temperature: opts.kdTemperature } }),
      });
    } finally {
      progress.stop();
    }
    let labelsOnly: Awaited<ReturnType<typeof evaluateModel>> | undefined;
    if (opts.compareLabels) {
      const held = data.validation ? { validation: data.validation } : { restoreBest: false };
      const optimizer = optimizerSpec(opts, sampleCount(data.train), opts.epochs);
      const b = await train({
        openRunner: createNodeRunner,
        model: student,
        train: data.train,
        ...held,
        epochs: opts.epochs,
        batchSize: opts.batchSize,
        seed: opts.seed,
        optimizer,
      });
      labelsOnly = await evaluateModel(createNodeRunner, b.model, data.test);
    }
    // Against the teacher on the test split: the trained student, and the student as it started.
    const fidelity = await measureFidelity(teacher, r.model, data, {
      dataName: opts.data,
      beforeTraining: student,
      ...(r.teacherTest ? { accuracyOriginal: r.teacherTest.accuracy } : {}),
      file: opts.teacher,
    });
    enforceFidelity(io, fidelity, opts, opts.student);
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
      lr: learningRate(opts),
      batchSize: opts.batchSize,
      trainExamples: sampleCount(data.train),
      testExamples: sampleCount(data.test),
      epochs: r.history.map(epochJson),
      teacherTrainAccuracy: r.teacherTrainAccuracy,
      teacherTestAccuracy: r.teacherTest?.accuracy ?? null,
      studentTestAccuracy: r.studentTest?.accuracy ?? null,
      labelsOnlyTestAccuracy: labelsOnly?.accuracy ?? null,
      labels: labelled,
      labelFreeLoss: labelFreeLossName(data, opts),
      fidelity: fidelityJson(fidelity),
    };
    if (opts.json) {
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    printEpochs(io, r.history, opts.epochs);
    if (r.teacherTest && r.studentTest)
      io.stdout(
        `test accuracy: teacher ${pct(r.teacherTest.accuracy)}, distilled student ${pct(r.studentTest.accuracy)}${labelsOnly ? `, same student on labels alone ${pct(labelsOnly.accuracy)}` : ''} (${sampleCount(data.test)} examples, ${opts.epochs} epochs, seed ${opts.seed})\n`,
      );
    io.stdout(`student against the teacher: ${fidelityLines(fidelity, 'untrained student')}`);
    io.stdout(`wrote ${opts.output} (${bytes} bytes)\n`);
  });
}
