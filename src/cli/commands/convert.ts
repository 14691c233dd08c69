/**
 * `modelpress convert <in> -o <out> [--to onnx|safetensors|tfjs]`: rewrite a
 * model in another (or the same) format. ONNX -> ONNX is a faithful rewrite
 * (byte-identical for a model without external data); other pairs carry the
 * weights (see docs/CLI.md for what each pair keeps). Outputs appear
 * all-or-nothing: nothing is left behind on failure.
 */
import type { Command } from 'commander';
import { ModelpressError } from '../../core/errors.js';
import type { FormatName } from '../../formats/types.js';
import { formatFromExtension, loadModel, saveModel } from '../../node/load.js';
import type { CliIO } from '../io.js';
import { humanBytes } from '../table.js';

const TARGETS: readonly FormatName[] = ['onnx', 'safetensors', 'tfjs'];

function parseTarget(v: string): FormatName {
  if (!(TARGETS as readonly string[]).includes(v)) throw new ModelpressError('E_ARG', `--to must be one of ${TARGETS.join(', ')}, got "${v}"`);
  return v as FormatName;
}

export function register(program: Command, io: CliIO): void {
  program
    .command('convert')
    .description('convert a model between ONNX, safetensors and TF.js (ONNX -> ONNX is a faithful rewrite; other pairs carry the weights)')
    .argument('<in>', 'input model: .onnx, .safetensors, or a TF.js model JSON (format detected from content)')
    .requiredOption('-o, --output <file>', 'output file (.onnx, .safetensors, or .json for TF.js; shards/external data go next to it)')
    .option('--to <format>', 'output format: onnx, safetensors or tfjs (default: from the output extension)', parseTarget)
    .action((input: string, opts: { output: string; to?: FormatName }) => {
      const to = opts.to ?? formatFromExtension(opts.output);
      if (!to) throw new ModelpressError('E_ARG', `cannot tell the output format from "${opts.output}": use --to onnx|safetensors|tfjs or a .onnx/.safetensors/.json name`);
      const model = loadModel(input);
      const result = saveModel(model, opts.output, to);
      for (const note of result.notes) io.stderr(`modelpress: note: ${note}\n`);
      const total = result.files.reduce((s, f) => s + f.bytes, 0);
      io.stdout(`${input} (${model.format}, ${model.tensors.length} tensors, ${humanBytes(model.sizeBytes)}) -> ${to}: ${result.files.map((f) => `${f.path} (${humanBytes(f.bytes)})`).join(', ')}; ${humanBytes(total)}\n`);
    });
}
