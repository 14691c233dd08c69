/**
 * `modelpress quantize <in> -o <out> --scheme <scheme> [...]`: post-training
 * quantization. ONNX models get a standard ONNX model onnxruntime runs;
 * TF.js models get a quantized manifest tfjs-converter would write;
 * safetensors files get float16/bfloat16 storage. The scheme list in --help
 * comes from the scheme table.
 */
import { statSync } from 'node:fs';
import type { Command } from 'commander';
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
import { quantizeContext } from '../../node/quantize-context.js';
import { createNodeRunner } from '../../node/ort-runner.js';
import { writeOnnx } from '../../formats/onnx/write.js';
import { randomSource, type FeedSource } from '../../eval/feeds.js';
import { evaluate } from '../../eval/evaluate.js';
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
  kmeansInit?: QuantizeOptions['kmeansInit'];
  kmeansSolver?: QuantizeOptions['kmeansSolver'];
  json?: boolean;
  top: number;
  minSnr?: number;
}

function schemeHelp(): string {
  const only = (s: SchemeTraits) => (s.formats.onnx ? '' : `(${fileFormatNames(s).join(', ')} only) `);
  return listSchemes()
    .map((s) => `  ${s.id.padEnd(14)} ${only(s)}${s.summary}${s.needsCalibration ? ' (needs --calib)' : ''}`)
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

interface Guard {
  /** 'random', or the name of the held-back data. */
  readonly inputs: string;
  readonly samples: number;
  readonly snrDb: number;
  readonly cosine: number;
}

/** Runs the quantized model against the original on the samples of --calib data held back from calibration, else on seeded random inputs. */
async function measureGuard(
  original: Uint8Array,
  quantized: Uint8Array,
  dims: Record<string, number>,
  file: string,
  holdout: FeedSource | undefined,
): Promise<Guard> {
  const ref = await createNodeRunner(original, { file });
  const q = await createNodeRunner(quantized, { file });
  try {
    const runs = 8;
    const source = holdout ?? randomSource(ref.inputs, runs, { dims, seed: 1 });
    const r = await evaluate(q, source, { reference: ref, latency: false });
    const f = r.fidelity ?? [];
    return {
      inputs: holdout ? holdout.name : 'random',
      samples: r.samples,
      snrDb: Math.min(...f.map((x) => x.snrDb)),
      cosine: Math.min(...f.map((x) => x.cosine)),
    };
  } finally {
    await ref.dispose();
    await q.dispose();
  }
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
    let tensors: readonly TensorReport[];
    let notes: readonly string[] = [];
    let sizeAfter: number;
    let guard: Guard | undefined;
    if (model.format === 'onnx') {
      const flags = { calib: f.calib, calibSize: f.calibSize, dataDir: f.dataDir, dims: dimsRecord(f.dim) };
      const ctx = await quantizeContext(model, flags, io.isTTY ? (line) => io.stderr(line) : undefined);
      // external data is read by ranges into the proto (the quantizer reads weights from raw_data)
      const proto = inlineExternalData(model.onnx!.proto, model.onnx!, input);
      const result = await quantizeModel(proto, f.scheme, { ...opts, ...ctx.options });
      tensors = result.tensors;
      notes = result.notes;
      if (f.calib !== undefined && isRandomSpec(f.calib))
        io.stderr('modelpress: warning: --calib random only exercises the graph; its fidelity figure says nothing about real inputs\n');
      if (f.minSnr !== undefined)
        guard = await measureGuard(model.onnx!.bytes, writeOnnx(result.model, { file: f.output }), dimsRecord(f.dim), input, ctx.holdout);
      if (guard)
        io.stderr(
          guard.inputs === 'random' || isRandomSpec(f.calib ?? 'random')
            ? `modelpress: fidelity measured on ${guard.samples} SEEDED RANDOM inputs, not on your data: output SNR ${guard.snrDb.toFixed(1)} dB, cosine ${guard.cosine.toFixed(4)}\n`
            : `modelpress: fidelity on ${guard.samples} samples of ${guard.inputs} held back from calibration: output SNR ${guard.snrDb.toFixed(1)} dB, cosine ${guard.cosine.toFixed(4)}\n`,
        );
      if (guard && f.minSnr !== undefined && !(guard.snrDb >= f.minSnr))
        throw new ModelpressError(
          'E_FIDELITY',
          `output SNR ${guard.snrDb.toFixed(1)} dB against the original is below --min-snr ${f.minSnr}; nothing written`,
          { file: input },
        );
      const written = writeOnnxFile(f.output, result.model);
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
      ...(guard ? { fidelity: { ...guard, snrDb: jsonNumber(guard.snrDb) } } : {}),
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
