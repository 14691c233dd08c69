/**
 * `modelpress pack <model> -o <out.mpz> [--lossless] [--json]`: encodes a
 * model (ONNX, safetensors, TF.js model.json + shards) into an .mpz container.
 * Packing is always lossless: the .mpz unpacks to the byte-identical input,
 * and pack verifies that by decoding what it wrote before renaming it into place.
 */
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { fail } from '../../core/errors.js';
import { packModel, type PackReport } from '../../codec/container/pack.js';
import { writeFileAtomic } from '../../node/fs.js';
import { loadModelFiles } from '../../node/pack-files.js';
import { checkOutputs, checkOutputTarget } from '../../node/output.js';
import type { CliIO } from '../io.js';
import { addOutputOptions, option, followSymlinksOption } from '../options.js';

interface PackCliOptions {
  output: string;
  lossless?: boolean;
  smallest?: boolean;
  json?: boolean;
  followSymlinks?: boolean;
}

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

function summary(model: string, out: string, r: PackReport): string {
  const lines = [
    `${model} (${r.format}, ${r.originalBytes} bytes) -> ${out} (${r.packedBytes} bytes), ratio ${r.ratio.toFixed(3)}x`,
    `  ${'stage'.padEnd(34)} ${'tensors'.padStart(7)} ${'raw'.padStart(12)} ${'stored'.padStart(12)}`,
  ];
  for (const [stage, s] of Object.entries(r.stages))
    lines.push(`  ${stage.padEnd(34)} ${String(s.tensors).padStart(7)} ${kb(s.rawBytes).padStart(12)} ${kb(s.storedBytes).padStart(12)}`);
  if (r.fallback) lines.push(`  note: ${r.fallback}`);
  return `${lines.join('\n')}\n`;
}

export const PACK_SCHEMA = 'modelpress.pack/1';

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('pack')
    .description('encode a model losslessly into an .mpz container (docs/FORMAT.md)')
    .argument(
      '<model>',
      'model file: .onnx (external data files it names are read and packed too), .safetensors, or a TF.js model.json (shards are read from its directory)',
    )
    .addOption(
      option(
        '--lossless',
        'require per-tensor coding: fail (E_UNSUPPORTED) instead of storing the whole file with the generic coder when the model structure cannot be split (output is byte-identical either way)',
      ),
    )
    .addOption(
      option(
        '--smallest',
        'keep the smallest coding of every payload, even the slow coders: context mixing (also for the skeleton and index) and the context-modelled floatplanes float coder, 0.2-0.8% smaller and 5-20x slower to decode (without it, floatplanes and, on payloads over 16 KiB, context mixing must save 5%)',
      ),
    )
    .addOption(followSymlinksOption());
  addOutputOptions(cmd, {
    output: 'output .mpz path (written atomically)',
    json: `print sizes per tensor and per stage and the overall ratio as JSON (schema ${PACK_SCHEMA})`,
  });
  cmd.action((model: string, opts: PackCliOptions) => {
    checkOutputTarget(opts.output);
    const input = loadModelFiles(model, { followSymlinks: opts.followSymlinks });
    checkOutputs(
      [opts.output],
      input.files.map((f) => (f.name === '' ? model : join(dirname(model), f.name))),
    );
    const { bytes, report } = packModel(input, { file: model, verify: true, ...(opts.smallest ? { slowCoderMinGain: 0 } : {}) });
    if (opts.lossless && report.fallback) fail('E_UNSUPPORTED', `--lossless: ${report.fallback}`, model);
    writeFileAtomic(opts.output, bytes);
    if (opts.json) io.stdout(`${JSON.stringify({ schema: PACK_SCHEMA, input: model, output: opts.output, ...report }, null, 2)}\n`);
    else io.stdout(summary(model, opts.output, report));
  });
}
