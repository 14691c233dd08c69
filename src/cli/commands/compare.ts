/**
 * `modelpress compare <ref> <model...> [--data <spec>] [--json] [--report ...]`:
 * evaluates a reference and each model on the same inputs; every model gets
 * fidelity against the reference and its compression ratio.
 */
import type { Command } from 'commander';
import { COMPARE_SCHEMA, type CompareRecord, type EvalRecord } from '../../report/record.js';
import type { CliIO } from '../io.js';
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

export function register(program: Command, io: CliIO): void {
  addEvalOptions(
    program
      .command('compare')
      .description('compare models against a reference on the same inputs: size, accuracy, fidelity, latency, memory')
      .argument('<ref>', 'reference ONNX model (usually the uncompressed original)')
      .argument('<models...>', 'ONNX models (or .mpz containers holding them) to compare with it'),
  ).action(async (refPath: string, modelPaths: string[], opts: EvalCliOptions) => {
    const s = parseEvalSettings(opts);
    const reference = { path: refPath, ...(await openModel(refPath, s)) };
    const records: EvalRecord[] = [];
    try {
      const data = await loadSettingsData(s, reference.runner.inputs);
      records.push(await evaluateOpened(reference, undefined, data, s, io));
      for (const path of modelPaths) {
        const model = { path, ...(await openModel(path, s)) };
        try {
          records.push(await evaluateOpened(model, reference, data, s, io));
        } finally {
          await model.runner.dispose();
        }
      }
    } finally {
      await reference.runner.dispose();
    }
    // The reference's own ratio is 1 by definition.
    records[0] = { ...records[0]!, compressionRatio: 1 };
    const json: CompareRecord = { schema: COMPARE_SCHEMA, reference: refPath, models: records };
    if (opts.report) writeReport(opts.report, records, json, `modelpress compare: ${refPath}`);
    io.stdout(opts.json ? `${JSON.stringify(json, null, 2)}\n` : formatRecords(records));
  });
}
