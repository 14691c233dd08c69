/**
 * `modelpress unpack <in.mpz> -o <model>`: decodes an .mpz back to the
 * original model files, byte-identical to what was packed. A TF.js model's
 * JSON goes to <model>, its shards next to it.
 */
import type { Command } from 'commander';
import { ModelpressError } from '../../core/errors.js';
import { unpackModel } from '../../codec/container/reader.js';
import { readFileChecked } from '../../node/fs.js';
import { writeUnpacked } from '../../node/pack-files.js';
import { checkOutputs } from '../../node/output.js';
import type { CliIO } from '../io.js';
import { addOptions, addOutputOptions, maxCmBytesOption, maxOutputOption, option } from '../options.js';

export const UNPACK_SCHEMA = 'modelpress.unpack/1';

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('unpack')
    .description('decode an .mpz container back to the original model files (byte-identical)')
    .argument('<in.mpz>', '.mpz file written by pack');
  addOutputOptions(cmd, {
    output: 'output model path (TF.js: the model JSON; shards are written next to it)',
    json: `print the written files and sizes as JSON (schema ${UNPACK_SCHEMA})`,
  });
  addOptions(
    cmd,
    maxOutputOption(),
    maxCmBytesOption(),
    option('--force', "replace existing files that the model's other files (external data, shards) would overwrite"),
  );
  cmd.action((input: string, opts: { output: string; json?: boolean; maxOutput?: number; maxCmBytes?: number; force?: boolean }) => {
    checkOutputs([opts.output], [input]);
    const bytes = readFileChecked(input);
    let model: ReturnType<typeof unpackModel>;
    try {
      model = unpackModel(bytes, {
        file: input,
        ...(opts.maxOutput === undefined ? {} : { maxOutput: opts.maxOutput }),
        ...(opts.maxCmBytes === undefined ? {} : { maxGenericBytes: opts.maxCmBytes }),
      });
    } catch (e) {
      throw e instanceof ModelpressError ? e.withFile(input) : e;
    }
    const paths = writeUnpacked(opts.output, model, { force: opts.force === true });
    const files = model.files.map((f, i) => ({ path: paths[i]!, bytes: f.bytes.length }));
    if (opts.json) io.stdout(`${JSON.stringify({ schema: UNPACK_SCHEMA, input, format: model.format, files }, null, 2)}\n`);
    else io.stdout(`${input} -> ${files.map((f) => `${f.path} (${f.bytes} bytes)`).join(', ')} [${model.format}]\n`);
  });
}
