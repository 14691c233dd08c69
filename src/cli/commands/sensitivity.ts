/**
 * `modelpress sensitivity <model> --data <name> [--method prune|quant]
 * [--target-ratio R] [--json] [--report out.html]`: per-layer accuracy drop
 * at several compression levels, one layer at a time; table, JSON, an HTML
 * page with a Chart.js chart, and a suggested per-layer setting for a size.
 */
import { modelInputs } from '../data.js';
import type { Command } from 'commander';
import { renderSensitivityHtml, sensitivityTable } from '../../compress/sensitivity-html.js';
import {
  analyzeOutputSensitivity,
  analyzeSensitivity,
  SENSITIVITY_METHODS,
  type OutputSensitivityResult,
  type SensitivityMethod,
} from '../../compress/sensitivity.js';
import { ModelpressError } from '../../core/errors.js';
import { writeFileAtomic } from '../../node/fs.js';
import type { CliIO } from '../io.js';
import { formatTable } from '../table.js';
import { addDataOptions, addOptions, addOutputOptions, fraction, oneOf, option, type DataCliOptions } from '../options.js';
import { checkOutput, loadData, pct, readModel } from '../training.js';
import { loadChartAssets } from '../evaluation.js';
import { createNodeRunner } from '../../node/ort-runner.js';

interface SensitivityCliOptions extends DataCliOptions {
  method: SensitivityMethod;
  targetRatio?: number;
  report?: string;
  json?: boolean;
}

const SENSITIVITY_SCHEMA = 'modelpress.sensitivity/1';

const db = (x: number): number | string => (Number.isFinite(x) ? Number(x.toFixed(2)) : x > 0 ? 'inf' : '-inf');

/** Label-free figures: output SNR per layer and level (terminal table or --json). */
function printOutputSensitivity(io: CliIO, r: OutputSensitivityResult, o: { json: boolean; model: string; data: string }): void {
  if (o.json) {
    const layers = r.layers.map((l) => ({ ...l, levels: l.levels.map((x) => ({ ...x, snrDb: db(x.snrDb) })) }));
    const s = r.suggestion;
    const suggestion = s
      ? { ...s, estimatedSnrDb: db(s.estimatedSnrDb), snrDb: db(s.snrDb), layers: s.layers.map((x) => ({ ...x, snrDb: db(x.snrDb) })) }
      : undefined;
    io.stdout(
      `${JSON.stringify({ schema: SENSITIVITY_SCHEMA, command: 'sensitivity', model: o.model, data: o.data, report: null, ...r, layers, ...(suggestion ? { suggestion } : {}) }, null, 2)}\n`,
    );
    return;
  }
  const levels = r.layers[0]?.levels.map((l) => l.level) ?? [];
  io.stdout(
    `no labels in ${o.data}: output SNR in dB against the original on ${r.examples} samples when only that layer is compressed (${r.method}):\n`,
  );
  io.stdout(
    formatTable(
      ['layer', 'kind', { header: 'weights', align: 'right' }, ...levels.map((h) => ({ header: h, align: 'right' as const }))],
      r.layers.map((l) => [l.layer, l.kind, String(l.weights), ...l.levels.map((x) => String(db(x.snrDb)))]),
    ),
  );
  const s = r.suggestion;
  if (s)
    io.stdout(
      `suggestion for ${pct(s.targetRatio)} of float32 size: ${s.layers.map((l) => `${l.layer}=${l.level}`).join(', ')}; size ${pct(s.ratio)}${s.reached ? '' : ' (target not reachable)'}, estimated SNR ${db(s.estimatedSnrDb)} dB, measured ${db(s.snrDb)} dB\n`,
    );
}

export function register(program: Command, io: CliIO): void {
  const cmd = program
    .command('sensitivity')
    .description(
      'per-layer sensitivity: accuracy drop when one layer alone is pruned (50/70/90%) or quantized (int8, int4, k-means 4/3/2 bits), with a suggested per-layer setting for a target size',
    )
    .argument('<model>', 'ONNX model (a classifier with labelled data; any model with unlabelled data: output SNR)');
  addOptions(
    cmd,
    option('--method <m>', 'what to apply per layer: quant (int8, int4, k-means 4/3/2 bits) or prune (50/70/90%)', {
      parse: oneOf(SENSITIVITY_METHODS),
      choices: SENSITIVITY_METHODS,
      default: 'quant',
    }),
    option('--target-ratio <r>', 'suggest per-layer settings for this size, as a fraction of the float32 weights (e.g. 0.15)', {
      parse: fraction({ above0: true }),
      defaultText: 'no suggestion',
    }),
    option(
      '--report <file.html>',
      'write a self-contained HTML page (Chart.js inlined): accuracy drop per layer across levels, the table and the suggestion',
    ),
  );
  addDataOptions(cmd, { what: 'data whose test split is evaluated', required: true });
  addOutputOptions(cmd, { json: `print a JSON report on stdout (schema ${SENSITIVITY_SCHEMA}, docs/CLI.md)` });
  cmd.action(async (input: string, opts: SensitivityCliOptions) => {
    if (opts.report !== undefined && !opts.report.toLowerCase().endsWith('.html'))
      throw new ModelpressError('E_ARG', `--report must name an .html file, got '${opts.report}'`);
    if (opts.report !== undefined) checkOutput(opts.report, input, opts.data);
    const model = readModel(input, opts.report === undefined ? [] : [opts.report]);
    const { test } = await loadData({ ...opts, labels: 'optional', inputs: modelInputs(model) });
    if (test.y === undefined) {
      if (opts.report !== undefined)
        throw new ModelpressError(
          'E_UNSUPPORTED',
          `--report charts accuracy drops; ${opts.data} has no labels (the table and --json give output SNR)`,
        );
      const r = await analyzeOutputSensitivity({
        openRunner: createNodeRunner,
        model,
        data: test,
        method: opts.method,
        ...(opts.targetRatio === undefined ? {} : { targetRatio: opts.targetRatio }),
        ...(opts.testLimit === undefined ? {} : { limit: opts.testLimit }),
        file: input,
      });
      printOutputSensitivity(io, r, { json: opts.json === true, model: input, data: opts.data });
      return;
    }
    const assets = opts.report === undefined ? undefined : loadChartAssets();
    const r = await analyzeSensitivity({
      openRunner: createNodeRunner,
      model,
      data: test,
      method: opts.method,
      ...(opts.targetRatio === undefined ? {} : { targetRatio: opts.targetRatio }),
      file: input,
    });
    if (opts.report !== undefined)
      writeFileAtomic(opts.report, new TextEncoder().encode(renderSensitivityHtml(r, assets!, { model: input })));
    if (opts.json) {
      io.stdout(
        `${JSON.stringify({ schema: SENSITIVITY_SCHEMA, command: 'sensitivity', model: input, data: opts.data, report: opts.report ?? null, ...r }, null, 2)}\n`,
      );
      return;
    }
    const { header, rows } = sensitivityTable(r);
    io.stdout(
      `baseline accuracy ${pct(r.baseline)} on ${r.examples} examples; drop in points when only that layer is compressed (${r.method}):\n`,
    );
    io.stdout(
      formatTable(
        header.map((h, i) => ({ header: h, align: i >= 2 ? ('right' as const) : ('left' as const) })),
        rows,
      ),
    );
    const s = r.suggestion;
    if (s) {
      io.stdout(
        `suggestion for ${pct(s.targetRatio)} of float32 size: ${s.layers.map((l) => `${l.layer}=${l.level}`).join(', ')}; size ${pct(s.ratio)}${s.reached ? '' : ' (target not reachable)'}, estimated drop ${(s.estimatedDrop * 100).toFixed(2)} pts, measured ${(s.drop * 100).toFixed(2)} pts\n`,
      );
    }
    if (opts.report !== undefined) io.stdout(`wrote ${opts.report}\n`);
  });
}
