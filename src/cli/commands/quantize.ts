/**
 * `modelpress quantize <in> -o <out> --scheme <scheme> [...]`: post-training
 * quantization; `--scheme auto` picks a precision per tensor for one target
 * (src/node/quantize-context.ts). ONNX models get a standard ONNX model onnxruntime runs;
 * TF.js models get a quantized manifest tfjs-converter would write;
 * safetensors files get float16/bfloat16 storage. The scheme list in --help
 * comes from the scheme table.
 */
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { tfjsWriteInput } from '../../formats/tfjs/index.js';
import { inlineExternalData } from '../../formats/onnx/inline.js';
import { loadModel } from '../../node/load.js';
import { writeOnnxFile } from '../../node/onnx-external.js';
import { writeSafetensorsFile } from '../../node/safetensors-file.js';
import { writeTfjsFiles } from '../../node/tfjs-files.js';
import { checkOutputs, checkOutputTarget } from '../../node/output.js';
import {
  CALIBRATION_METHODS,
  fileFormatNames,
  listSchemes,
  quantizeModel,
  type CalibrationMethod,
  type QuantizeOptions,
  type SchemeTraits,
  type TensorReport,
} from '../../quantize/index.js';
import { planTfjsQuantization, quantizeSafetensorsTensors, safetensorsSchemeFor, tfjsSchemeFor } from '../../quantize/weights-file.js';
import {
  autoQuantize,
  FidelityGuard,
  LATENCY_RUNS,
  quantizeContext,
  type AutoOutcome,
  type AutoTarget,
  type GuardFigures,
} from '../../node/quantize-context.js';
import { writeOnnx } from '../../formats/onnx/write.js';
import { AUTO_SUMMARY } from '../../quantize/auto.js';
import { isRandomSpec } from '../../node/datasets.js';
import type { CliIO } from '../io.js';
import {
  addOptions,
  addOutputOptions,
  addSelectionOptions,
  blockSizeOption,
  calibSizeOption,
  dataDirOption,
  dimOption,
  dimsRecord,
  int,
  number,
  oneOf,
  option,
  topOption,
  followSymlinksOption,
} from '../options.js';
import { formatNumber, formatTable, humanBytes } from '../table.js';
import { startProgress, type Progress } from '../progress.js';

interface Flags {
  output: string;
  followSymlinks?: boolean;
  scheme: string;
  perChannel?: boolean;
  symmetric?: boolean;
  reduceRange?: boolean;
  blockSize?: number;
  accuracyLevel?: number;
  calib?: string;
  calibMethod?: CalibrationMethod;
  calibSize: number;
  percentile?: number;
  dataDir?: string;
  dim?: [string, number][];
  include?: string[];
  exclude?: string[];
  minSize: number;
  foldBn?: boolean;
  compactNames?: boolean;
  keepOps?: string[];
  fp16Overflow?: 'keep' | 'clamp';
  /** --no-fp16-guard: convert to float16 without measuring activation ranges. */
  fp16Guard: boolean;
  kmeansInit?: QuantizeOptions['kmeansInit'];
  kmeansSolver?: QuantizeOptions['kmeansSolver'];
  json?: boolean;
  top: number;
  minSnr?: number;
  maxDrop?: number;
  /** --no-fidelity: skip measuring the result against the original. */
  fidelity: boolean;
  targetSize?: number;
  sensitivitySamples: number;
}

function schemeHelp(): string {
  const only = (s: SchemeTraits) => (s.formats.onnx ? '' : `(${fileFormatNames(s).join(', ')} only) `);
  return listSchemes()
    .map((s) => `  ${s.id.padEnd(14)} ${only(s)}${s.summary}${s.needsCalibration ? ' (needs --calib)' : ''}`)
    .concat(`  ${'auto'.padEnd(14)} ${AUTO_SUMMARY} (needs --calib)`)
    .join('\n');
}

/** Totals over the tensors a scheme changed. */
function totals(tensors: readonly TensorReport[]): { quantized: number; skipped: number; bytesBefore: number; bytesAfter: number } {
  const done = tensors.filter((t) => t.action !== 'skipped');
  return {
    quantized: done.length,
    skipped: tensors.length - done.length,
    bytesBefore: done.reduce((a, t) => a + t.bytesBefore, 0),
    bytesAfter: done.reduce((a, t) => a + t.bytesAfter, 0),
  };
}

function jsonNumber(x: number): number | string {
  return Number.isFinite(x) ? x : x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
}

export const QUANTIZE_SCHEMA = 'modelpress.quantize/3';

type Guard = GuardFigures;

/** The fidelity line on stderr: loud when the inputs were random. */
function guardLine(g: Guard, calib: string | undefined): string {
  const acc = g.accuracy ? `, accuracy ${(g.accuracy.original * 100).toFixed(2)}% -> ${(g.accuracy.quantized * 100).toFixed(2)}%` : '';
  const line =
    g.inputs === 'random' || isRandomSpec(calib ?? 'random')
      ? `modelpress: fidelity measured on ${g.samples} SEEDED RANDOM inputs, not on your data: output SNR ${g.snrDb.toFixed(1)} dB, cosine ${g.cosine.toFixed(4)}${acc}\n`
      : `modelpress: fidelity on ${g.samples} samples of ${g.inputs} held back from calibration: output SNR ${g.snrDb.toFixed(1)} dB, cosine ${g.cosine.toFixed(4)}${acc}\n`;
  return line + latencyLine(g);
}

/** Says so when the quantized model runs slower than the original here (10% margin for noise). */
function latencyLine(g: Guard): string {
  const l = g.latency;
  if (!l || !(l.ratio > 1.1)) return '';
  return `modelpress: note: the quantized model ran ${l.ratio.toFixed(2)}x SLOWER than the original on this machine (median of ${LATENCY_RUNS} runs of a batch of ${l.batch}: ${l.quantizedMs.toFixed(1)} ms against ${l.originalMs.toFixed(1)} ms); onnxruntime's CPU kernels for this scheme may not pay off here\n`;
}

function guardJson(g: Guard): Record<string, unknown> {
  return { ...g, snrDb: jsonNumber(g.snrDb) };
}

/** --target-size: a ratio (<= 1) of the float32 weight bytes, or a size in bytes of the output file. */
function targetOf(f: Flags, input: string): AutoTarget {
  const given = [
    f.targetSize !== undefined && '--target-size',
    f.minSnr !== undefined && '--min-snr',
    f.maxDrop !== undefined && '--max-drop',
  ].filter(Boolean);
  if (given.length !== 1)
    throw new ModelpressError(
      'E_ARG',
      `--scheme auto takes exactly one target: --target-size <bytes|ratio>, --min-snr <dB> or --max-drop <points>${given.length ? ` (got ${given.join(' and ')})` : ''}`,
      { file: input },
    );
  if (f.targetSize !== undefined)
    return f.targetSize <= 1 ? { kind: 'size', ratio: f.targetSize } : { kind: 'bytes', bytes: Math.floor(f.targetSize) };
  if (f.minSnr !== undefined) return { kind: 'snr', minSnrDb: f.minSnr };
  return { kind: 'drop', maxDropPoints: f.maxDrop! };
}

function dbText(x: number): string {
  return Number.isFinite(x) ? x.toFixed(1) : x > 0 ? 'inf' : '-inf';
}

const KMEANS_INITS = ['linear', 'density', 'random', 'kmeans++'] as const;
const KMEANS_SOLVERS = ['auto', 'exact', 'lloyd'] as const;

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('quantize')
    .description('post-training quantization (ONNX -> ONNX that onnxruntime runs; TF.js -> quantized manifest; safetensors -> fp16/bf16)')
    .argument('<in>', 'input model (.onnx, TF.js model JSON, .safetensors; detected from content)')
    .requiredOption('--scheme <scheme>', `quantization scheme:\n${schemeHelp()}`);
  addOptions(
    cmd,
    option('--per-channel', 'one scale per output channel (Conv axis 0, ConvTranspose 1, Gemm by transB, MatMul last axis)'),
    option('--symmetric', 'symmetric ranges, zero point 0'),
    option('--reduce-range', '7-bit ranges (for CPUs whose int8 dot products can overflow)'),
    blockSizeOption({ defaultText: '32' }),
    option('--accuracy-level <n>', 'MatMulNBits accuracy_level (0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8)', {
      parse: int({ min: 0, max: 4 }),
    }),
    option('--calib <spec>', 'calibration data for static: fashion-mnist[:train|:test], file.npy|.npz, random'),
    option('--calib-method <m>', 'calibration method', {
      parse: oneOf(CALIBRATION_METHODS),
      choices: CALIBRATION_METHODS,
      defaultText: 'minmax',
    }),
    calibSizeOption(256),
    option('--percentile <p>', 'percentile kept by --calib-method percentile', {
      parse: number({ above: 0, max: 100 }),
      defaultText: '99.999',
    }),
    dataDirOption(),
    dimOption('value of a symbolic input dim of the calibration inputs, e.g. --dim batch=1'),
  );
  addSelectionOptions(cmd);
  addOptions(
    cmd,
    option('--min-size <n>', 'leave tensors with fewer elements alone', { parse: int({ min: 0 }), default: 256 }),
    option(
      '--fold-bn',
      'fold BatchNormalization into the Conv before it (default: only where that loses no precision: per-channel, half-precision, int4, dynamic, static)',
    ),
    option('--no-fold-bn', 'keep every BatchNormalization'),
    option('--compact-names', 'rename internal tensors to short names and clear node names (inputs and outputs keep theirs)'),
    option('--keep-ops <ops>', 'fp16: op types kept in float32; comma-separated, repeatable', { repeatable: true, commas: true }),
    option(
      '--fp16-overflow <mode>',
      'fp16: constants beyond ±65504 stay float32 with their readers (keep) or are clamped (clamp); counted either way',
      {
        parse: oneOf(['keep', 'clamp'] as const),
        choices: ['keep', 'clamp'],
        defaultText: 'keep',
      },
    ),
    option('--kmeans-init <init>', 'kmeans centroid init', { parse: oneOf(KMEANS_INITS), choices: KMEANS_INITS, defaultText: 'linear' }),
    option('--kmeans-solver <s>', 'kmeans solver: auto (exact when cheap), exact or lloyd', {
      parse: oneOf(KMEANS_SOLVERS),
      choices: KMEANS_SOLVERS,
      defaultText: 'auto',
    }),
    option('--min-snr <dB>', 'refuse (E_FIDELITY, nothing written) when the output SNR against the original is below this', {
      parse: number(),
    }),
    option(
      '--no-fp16-guard',
      'fp16, q4f16: skip finding the activations beyond float16 range on --calib data (else seeded random inputs) and keeping their nodes in float32',
    ),
    option(
      '--no-fidelity',
      'ONNX: skip measuring the result against the original (by default its output SNR, cosine, accuracy with labels, and latency ratio on this machine are measured on the held-back --calib samples, or on 8 seeded random inputs)',
    ),
    option(
      '--max-drop <points>',
      'refuse (E_FIDELITY, nothing written) when top-1 accuracy on the held-back samples drops by more than this many points (needs labels)',
      { parse: number({ min: 0 }) },
    ),
    option(
      '--target-size <bytes|ratio>',
      'auto: the size to fit, as a fraction (<= 1) of the float32 weight bytes or the output file size in bytes (> 1)',
      { parse: number({ above: 0 }) },
    ),
    option('--sensitivity-samples <n>', 'auto: calibration samples each candidate precision is measured on', {
      parse: int({ min: 1 }),
      default: 16,
    }),
    topOption(),
    followSymlinksOption(),
  );
  addOutputOptions(cmd, { output: 'output file', json: `print a JSON report on stdout (schema ${QUANTIZE_SCHEMA}, docs/CLI.md)` });
  cmd.action(async (input: string, f: Flags) => {
    checkOutputTarget(f.output);
    const model = loadModel(input, { followSymlinks: f.followSymlinks });
    checkOutputs([f.output], model.files);
    const opts: QuantizeOptions = {
      file: input,
      ...(f.perChannel ? { perChannel: true } : {}),
      ...(f.symmetric ? { symmetric: true } : {}),
      ...(f.reduceRange ? { reduceRange: true } : {}),
      ...(f.blockSize !== undefined ? { blockSize: f.blockSize } : {}),
      ...(f.accuracyLevel !== undefined ? { accuracyLevel: f.accuracyLevel } : {}),
      ...(f.include ? { include: f.include } : {}),
      ...(f.exclude ? { exclude: f.exclude } : {}),
      minSize: f.minSize,
      ...(f.foldBn !== undefined ? { foldBatchNorm: f.foldBn } : {}),
      ...(f.compactNames ? { compactNames: true } : {}),
      ...(f.keepOps ? { keepOps: f.keepOps } : {}),
      ...(f.fp16Overflow ? { overflow: f.fp16Overflow } : {}),
      ...(f.fp16Guard === false ? { fp16Guard: false } : {}),
      ...(f.kmeansInit ? { kmeansInit: f.kmeansInit } : {}),
      ...(f.kmeansSolver ? { kmeansSolver: f.kmeansSolver } : {}),
      ...(f.calibMethod ? { calibMethod: f.calibMethod } : {}),
      ...(f.percentile !== undefined ? { calibPercentile: f.percentile } : {}),
    };
    if (model.format !== 'onnx' && (f.compactNames || f.foldBn !== undefined)) {
      throw new ModelpressError(
        'E_ARG',
        `${f.compactNames ? '--compact-names' : f.foldBn ? '--fold-bn' : '--no-fold-bn'} applies to ONNX models only; ${input} is ${model.format}`,
        { file: input },
      );
    }
    const auto = f.scheme === 'auto';
    if (auto && model.format !== 'onnx')
      throw new ModelpressError('E_UNSUPPORTED', `--scheme auto applies to ONNX models only; ${input} is ${model.format}`, { file: input });
    if (!auto && f.targetSize !== undefined)
      throw new ModelpressError('E_ARG', '--target-size is a target of --scheme auto only', { file: input });
    if (model.format !== 'onnx' && (f.minSnr !== undefined || f.maxDrop !== undefined))
      throw new ModelpressError('E_UNSUPPORTED', `--min-snr and --max-drop measure ONNX models only; ${input} is ${model.format}`, {
        file: input,
      });
    const target = auto ? targetOf(f, input) : undefined;
    let tensors: readonly TensorReport[];
    let notes: readonly string[] = [];
    let sizeAfter: number;
    let guard: Guard | undefined;
    let fidelityError: string | undefined;
    let autoOut: AutoOutcome | undefined;
    let timings: Record<string, number> | undefined;
    if (model.format === 'onnx') {
      const dims = dimsRecord(f.dim);
      const flags = { calib: f.calib, calibSize: f.calibSize, dataDir: f.dataDir, dims };
      const log = io.isTTY ? (line: string) => io.stderr(line) : undefined;
      if (auto && f.calib === undefined)
        throw new ModelpressError(
          'E_ARG',
          '--scheme auto measures each tensor on data: give --calib <data spec> (or --calib random, which only exercises the graph)',
          {
            file: input,
          },
        );
      if (f.calib !== undefined && isRandomSpec(f.calib))
        io.stderr('modelpress: warning: --calib random only exercises the graph; its fidelity figure says nothing about real inputs\n');
      // external data is read by ranges into the proto (the quantizers read weights from raw_data), and onnxruntime,
      // which loads the original from bytes where relative external-data paths cannot resolve, gets it inlined too
      const proto = inlineExternalData(model.onnx!.proto, model.onnx!, input);
      const originalBytes = proto === model.onnx!.proto ? model.onnx!.bytes : writeOnnx(proto, { file: input });
      const inlined = proto === model.onnx!.proto ? model : { ...model, onnx: { ...model.onnx!, proto, bytes: originalBytes } };
      const clock = () => performance.now();
      const t0 = clock();
      const ctx = await quantizeContext(inlined, flags, log);
      const contextMs = clock() - t0;
      let model2: Uint8Array;
      let outProto: ModelProto;
      if (auto) {
        let bar: Progress | undefined;
        const onSensitivity = (done: number, total: number) => {
          bar ??= startProgress(io, 'sensitivity', total);
          bar.update(done);
          if (done >= total) bar.stop();
        };
        try {
          autoOut = await autoQuantize(
            inlined,
            ctx,
            target!,
            { ...opts, ...ctx.options, dims, sensitivitySamples: f.sensitivitySamples, onSensitivity },
            log,
          );
        } finally {
          bar?.stop();
        }
        ({ tensors, notes } = autoOut.result);
        guard = autoOut.guard;
        model2 = autoOut.bytes;
        outProto = autoOut.result.model;
        timings = { contextMs, ...autoOut.timings };
      } else {
        const t1 = clock();
        const result = await quantizeModel(proto, f.scheme, { ...opts, ...ctx.options });
        tensors = result.tensors;
        notes = result.notes;
        outProto = result.model;
        model2 = writeOnnx(result.model, { file: f.output });
        const quantizeMs = clock() - t1;
        let guardMs = 0;
        if (!f.fidelity && (f.minSnr !== undefined || f.maxDrop !== undefined))
          throw new ModelpressError('E_ARG', '--no-fidelity contradicts --min-snr/--max-drop, which need the measurement', {
            file: input,
          });
        if (f.fidelity) {
          const t2 = clock();
          const asked = f.minSnr !== undefined || f.maxDrop !== undefined;
          try {
            const g = await FidelityGuard.open(originalBytes, input, ctx.holdout, dims);
            try {
              if (f.maxDrop !== undefined && !g.hasLabels)
                throw new ModelpressError('E_ARG', '--max-drop needs labels in the --calib data (a labels array, or a built-in dataset)', {
                  file: input,
                });
              guard = await g.measure(model2);
            } finally {
              await g.dispose();
            }
          } catch (e) {
            // Unasked, the measurement must not cost the user the model: say why there is no figure, and go on.
            if (asked || !(e instanceof ModelpressError) || e.code === 'E_ARG') throw e;
            fidelityError = `${e.code}: ${e.message}`;
            io.stderr(
              `modelpress: warning: fidelity not measured (${fidelityError}); give --calib data, or --dim for the model's symbolic dims\n`,
            );
          }
          guardMs = clock() - t2;
        }
        timings = { contextMs, quantizeMs, guardMs };
        if (guard) io.stderr(guardLine(guard, f.calib));
        if (guard && f.minSnr !== undefined && !(guard.snrDb >= f.minSnr))
          throw new ModelpressError(
            'E_FIDELITY',
            `output SNR ${guard.snrDb.toFixed(1)} dB against the original is below --min-snr ${f.minSnr}; nothing written`,
            { file: input },
          );
        const drop = guard?.accuracy ? (guard.accuracy.original - guard.accuracy.quantized) * 100 : undefined;
        if (f.maxDrop !== undefined && !(drop !== undefined && drop <= f.maxDrop))
          throw new ModelpressError(
            'E_FIDELITY',
            `accuracy dropped ${drop?.toFixed(2)} points on the held-back samples, more than --max-drop ${f.maxDrop}; nothing written`,
            { file: input },
          );
      }
      if (auto && guard) io.stderr(guardLine(guard, f.calib));
      const written = writeOnnxFile(f.output, outProto);
      sizeAfter = statSync(f.output).size + written.dataBytes;
    } else if (model.format === 'tfjs') {
      const plan = planTfjsQuantization(model.tensors, tfjsSchemeFor(f.scheme), opts);
      if (Object.keys(plan.choice).length === 0)
        throw new ModelpressError('E_UNSUPPORTED', `scheme ${f.scheme} found no float32 weight to quantize`, { file: input });
      const written = writeTfjsFiles(f.output, model.tfjs!.modelJson, tfjsWriteInput(model.tfjs!), { quantize: plan.choice });
      tensors = plan.tensors;
      sizeAfter = written.json.length + written.shards.reduce((a, s) => a + s.bytes.byteLength, 0);
    } else {
      const r = quantizeSafetensorsTensors(model.tensors, safetensorsSchemeFor(f.scheme), opts);
      if (!r.reports.some((t) => t.action !== 'skipped'))
        throw new ModelpressError('E_UNSUPPORTED', `scheme ${f.scheme} found no float32 tensor to convert`, { file: input });
      writeSafetensorsFile(f.output, r.tensors, model.safetensors?.metadata);
      sizeAfter = statSync(f.output).size;
      tensors = r.reports;
    }
    const t = totals(tensors);
    const report = {
      schema: QUANTIZE_SCHEMA,
      input,
      output: f.output,
      format: model.format,
      scheme: f.scheme,
      sizeBytesBefore: model.sizeBytes,
      sizeBytesAfter: sizeAfter,
      sizeRatio: sizeAfter / model.sizeBytes,
      weightsBytesBefore: t.bytesBefore,
      weightsBytesAfter: t.bytesAfter,
      tensorsQuantized: t.quantized,
      tensorsSkipped: t.skipped,
      notes,
      ...(guard ? { fidelity: guardJson(guard) } : {}),
      ...(fidelityError ? { fidelity: null, fidelityError } : {}),
      ...(timings ? { timingsMs: timings } : {}),
      ...(autoOut
        ? {
            auto: {
              target: target!,
              weightsBytesBefore: autoOut.weightsBytesBefore,
              weightsBytesAfter: autoOut.weightsBytesAfter,
              weightsRatio: autoOut.weightsBytesAfter / autoOut.weightsBytesBefore,
              estimatedSnrDb: jsonNumber(autoOut.estimatedSnrDb),
              sensitivitySamples: autoOut.sensitivitySamples,
              sensitivityRuns: autoOut.sensitivityRuns,
              chainSteps: autoOut.chainSteps,
              attempts: autoOut.attempts.map((x) => ({
                ...x,
                estimatedSnrDb: jsonNumber(x.estimatedSnrDb),
                ...(x.guard ? { guard: guardJson(x.guard) } : {}),
              })),
              plan: autoOut.plan.map((r) => ({
                ...r,
                sensitivityDb: jsonNumber(r.sensitivityDb),
                candidates: r.candidates.map((c) => ({ ...c, snrDb: jsonNumber(c.snrDb) })),
              })),
            },
          }
        : {}),
      tensors: tensors.map((x) => ({
        name: x.name,
        graph: x.graph,
        ops: x.ops,
        action: x.action,
        ...(x.reason ? { reason: x.reason } : {}),
        dtype: x.dtype,
        shape: x.shape,
        bytesBefore: x.bytesBefore,
        bytesAfter: x.bytesAfter,
        ...(x.error ? { mse: x.error.mse, snrDb: jsonNumber(x.error.snrDb), maxAbs: x.error.maxAbs } : {}),
      })),
    };
    if (f.json) {
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    for (const n of notes) io.stderr(`modelpress: note: ${n}\n`);
    if (autoOut) {
      const rows = [...autoOut.plan].sort((a, b) => b.floatBytes - a.floatBytes).slice(0, f.top);
      io.stdout(
        formatTable(
          [
            'tensor',
            'shape',
            'precision',
            { header: 'float32', align: 'right' },
            { header: 'bytes', align: 'right' },
            { header: 'alone SNR dB', align: 'right' },
          ],
          rows.map((r) => [
            r.tensor,
            `[${r.shape.join(', ')}]`,
            r.precision,
            humanBytes(r.floatBytes),
            humanBytes(r.bytes),
            dbText(r.sensitivityDb),
          ]),
        ),
      );
      const counts = new Map<string, number>();
      for (const r of autoOut.plan) counts.set(r.precision, (counts.get(r.precision) ?? 0) + 1);
      const g = autoOut.guard;
      io.stdout(
        `${input} -> ${f.output} (auto): ${[...counts].map(([p, c]) => `${c} ${p}`).join(', ')}; ` +
          `weights ${humanBytes(autoOut.weightsBytesBefore)} -> ${humanBytes(autoOut.weightsBytesAfter)} (${(autoOut.weightsBytesAfter / autoOut.weightsBytesBefore).toFixed(3)} of float32); ` +
          `file ${humanBytes(model.sizeBytes)} -> ${humanBytes(sizeAfter)}; ` +
          `measured on ${g.samples} ${g.inputs === 'random' ? 'random inputs' : `held-back samples of ${g.inputs}`}: SNR ${dbText(g.snrDb)} dB, cosine ${g.cosine.toFixed(4)}` +
          `${g.accuracy ? `, accuracy ${(g.accuracy.original * 100).toFixed(2)}% -> ${(g.accuracy.quantized * 100).toFixed(2)}%` : ''} (estimated ${dbText(autoOut.estimatedSnrDb)} dB)\n`,
      );
      return;
    }
    const shown = [...tensors]
      .filter((x) => x.action !== 'skipped')
      .sort((a, b) => b.bytesBefore - a.bytesBefore)
      .slice(0, f.top);
    if (shown.length > 0) {
      io.stdout(
        formatTable(
          [
            'tensor',
            'action',
            { header: 'before', align: 'right' },
            { header: 'after', align: 'right' },
            { header: 'SNR dB', align: 'right' },
          ],
          shown.map((x) => [
            x.name,
            x.action,
            humanBytes(x.bytesBefore),
            humanBytes(x.bytesAfter),
            x.error ? formatNumber(Number(x.error.snrDb.toFixed(1))) : null,
          ]),
        ),
      );
    }
    io.stdout(
      `${input} -> ${f.output} (${f.scheme}): ${t.quantized} tensors quantized, ${t.skipped} left as they were; ` +
        `weights ${humanBytes(t.bytesBefore)} -> ${humanBytes(t.bytesAfter)}; file ${humanBytes(model.sizeBytes)} -> ${humanBytes(sizeAfter)} (${(sizeAfter / model.sizeBytes).toFixed(3)}x)\n`,
    );
  });
}
