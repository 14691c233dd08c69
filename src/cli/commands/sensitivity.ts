/**
 * `modelpress sensitivity <model> --data <name> [--method prune|quant]
 * [--target-ratio R] [--json] [--report out.html]`: per-layer accuracy drop
 * at several compression levels, one layer at a time; table, JSON, an HTML
 * page with a Chart.js chart, and a suggested per-layer setting for a size.
 */
import { Option, type Command } from 'commander';
import { renderSensitivityHtml, sensitivityTable } from '../../compress/sensitivity-html.js';
import { analyzeSensitivity, SENSITIVITY_METHODS, type SensitivityMethod } from '../../compress/sensitivity.js';
import { ModelpressError } from '../../core/errors.js';
import { writeFileAtomic } from '../../node/fs.js';
import type { CliIO } from '../io.js';
import { formatTable } from '../table.js';
import { addDataOptions, loadData, numberArg, pct, readModel, type DataCliOptions } from './compress-common.js';
import { loadChartAssets } from '../evaluation.js';
import { createNodeRunner } from '../../node/ort-runner.js';

interface SensitivityCliOptions extends DataCliOptions {
  method: SensitivityMethod;
  targetRatio?: number;
  report?: string;
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('sensitivity')
    .description('per-layer sensitivity: accuracy drop when one layer alone is pruned (50/70/90%) or quantized (int8, int4, k-means 4/3/2 bits), with a suggested per-layer setting for a target size')
    .argument('<model>', 'ONNX classifier')
    .addOption(new Option('--method <m>', 'what to apply per layer').choices([...SENSITIVITY_METHODS]).default('quant'))
    .option('--target-ratio <r>', 'suggest per-layer settings for this size, as a fraction of the float32 weights (e.g. 0.15)', numberArg('--target-ratio', (n) => n > 0 && n <= 1, 'in (0, 1]'))
    .option('--report <file.html>', 'write an HTML page with the chart');
  addDataOptions(cmd, { dataRequired: true }).action(async (input: string, opts: SensitivityCliOptions) => {
    if (opts.report !== undefined && !opts.report.toLowerCase().endsWith('.html')) throw new ModelpressError('E_ARG', `--report must name an .html file, got '${opts.report}'`);
    const model = readModel(input);
    const { test } = await loadData(opts);
    const assets = opts.report === undefined ? undefined : loadChartAssets();
    const r = await analyzeSensitivity({ openRunner: createNodeRunner, model, data: test, method: opts.method, ...(opts.targetRatio === undefined ? {} : { targetRatio: opts.targetRatio }), file: input });
    if (opts.report !== undefined) writeFileAtomic(opts.report, new TextEncoder().encode(renderSensitivityHtml(r, assets!, { model: input })));
    if (opts.json) {
      io.stdout(`${JSON.stringify({ schema: 'modelpress.sensitivity/1', command: 'sensitivity', model: input, data: opts.data, report: opts.report ?? null, ...r }, null, 2)}\n`);
      return;
    }
    const { header, rows } = sensitivityTable(r);
    io.stdout(`baseline accuracy ${pct(r.baseline)} on ${r.examples} examples; drop in points when only that layer is compressed (${r.method}):\n`);
    io.stdout(formatTable(header.map((h, i) => ({ header: h, align: i >= 2 ? ('right' as const) : ('left' as const) })), rows));
    const s = r.suggestion;
    if (s) {
      io.stdout(`suggestion for ${pct(s.targetRatio)} of float32 size: ${s.layers.map((l) => `${l.layer}=${l.level}`).join(', ')}; size ${pct(s.ratio)}${s.reached ? '' : ' (target not reachable)'}, estimated drop ${(s.estimatedDrop * 100).toFixed(2)} pts, measured ${(s.drop * 100).toFixed(2)} pts\n`);
    }
    if (opts.report !== undefined) io.stdout(`wrote ${opts.report}\n`);
  });
}
