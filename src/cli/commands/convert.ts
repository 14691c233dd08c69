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
import { checkOutputs, checkOutputTarget } from '../../node/output.js';
import type { CliIO } from '../io.js';
import { addOutputOptions, oneOf, option, followSymlinksOption } from '../options.js';
import { humanBytes } from '../table.js';

const TARGETS: readonly FormatName[] = ['onnx', 'safetensors', 'tfjs'];

export const CONVERT_SCHEMA = 'modelpress.convert/1';

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('convert')
    .description('convert a model between ONNX, safetensors and TF.js (ONNX -> ONNX is a faithful rewrite; other pairs carry the weights)')
    .argument('<in>', 'input model: .onnx, .safetensors, or a TF.js model JSON (format detected from content)')
    .addOption(
      option('--to <format>', 'output format', {
        parse: oneOf(TARGETS),
        choices: TARGETS,
        defaultText: 'from the extension of -o: .onnx, .safetensors, .json',
      }),
    )
    .addOption(followSymlinksOption());
  addOutputOptions(cmd, {
    output: 'output file (.onnx, .safetensors, or .json for TF.js; shards/external data go next to it)',
    json: `print the written files and the notes as JSON (schema ${CONVERT_SCHEMA}, docs/CLI.md)`,
  });
  cmd.action((input: string, opts: { output: string; to?: FormatName; json?: boolean; followSymlinks?: boolean }) => {
    const to = opts.to ?? formatFromExtension(opts.output);
    if (!to)
      throw new ModelpressError(
        'E_ARG',
        `cannot tell the output format from "${opts.output}": use --to onnx|safetensors|tfjs or a .onnx/.safetensors/.json name`,
      );
    checkOutputTarget(opts.output);
    const model = loadModel(input, { followSymlinks: opts.followSymlinks });
    checkOutputs([opts.output], model.files);
    const result = saveModel(model, opts.output, to);
    for (const note of result.notes) io.stderr(`modelpress: note: ${note}\n`);
    const total = result.files.reduce((s, f) => s + f.bytes, 0);
    if (opts.json) {
      const report = {
        schema: CONVERT_SCHEMA,
        input,
        format: model.format,
        tensors: model.tensors.length,
        sizeBytes: model.sizeBytes,
        to,
        files: result.files,
        bytes: total,
        notes: result.notes,
      };
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    io.stdout(
      `${input} (${model.format}, ${model.tensors.length} tensors, ${humanBytes(model.sizeBytes)}) -> ${to}: ${result.files.map((f) => `${f.path} (${humanBytes(f.bytes)})`).join(', ')}; ${humanBytes(total)}\n`,
    );
  });
}
