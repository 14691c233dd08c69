/**
 * `modelpress eval <model> [--data <spec>] [--ref <model>] [--json] [--report out.html|out.md|out.json]`:
 * runs a model over a dataset (or seeded random inputs) with onnxruntime and
 * reports accuracy, per-class F1, fidelity against a reference, latency,
 * throughput, peak memory, size and parameters (machinery in ../evaluation.ts).
 */
import type { Command } from 'commander';
import {
  addEvalOptions,
  evaluateOpened,
  formatRecords,
  loadSettingsData,
  openModel,
  parseEvalSettings,
  writeReport,
  type EvalCliOptions,
} from '../evaluation.js';
import type { CliIO } from '../io.js';
import { option } from '../options.js';
import { checkOutput } from '../training.js';

export function register(program: Command, io: CliIO): void {
  addEvalOptions(
    program
      .command('eval')
      .description('evaluate an ONNX model: accuracy, F1, fidelity vs --ref, latency, throughput, peak memory, size')
      .argument('<model>', 'ONNX model file, or an .mpz container holding one')
      .addOption(
        option('--ref <model>', 'reference model run on the same inputs: fidelity (cosine, SNR, agreement, errors) and compression ratio'),
      ),
  ).action(async (modelPath: string, opts: EvalCliOptions & { ref?: string }) => {
    const s = parseEvalSettings(opts);
    if (opts.report) checkOutput(opts.report, modelPath, ...(opts.ref ? [opts.ref] : []));
    const model = { path: modelPath, ...(await openModel(modelPath, s)) };
    const reference = opts.ref ? { path: opts.ref, ...(await openModel(opts.ref, s)) } : undefined;
    try {
      const data = await loadSettingsData(s, model.runner.inputs);
      const record = await evaluateOpened(model, reference, data, s, io);
      if (opts.report) writeReport(opts.report, [record], record, `modelpress eval: ${modelPath}`);
      io.stdout(opts.json ? `${JSON.stringify(record, null, 2)}\n` : formatRecords([record]));
    } finally {
      await model.runner.dispose();
      await reference?.runner.dispose();
    }
  });
}
