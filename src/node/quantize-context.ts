/**
 * What `modelpress quantize` hands the schemes that run models: calibration
 * batches made from a --calib data spec (or seeded random inputs), and an
 * onnxruntime-node runner factory. Lives in src/node because it reads files
 * and opens native sessions; the schemes themselves stay browser-safe.
 */
import { typedView } from '../core/tensor.js';
import { limitSamples, sampleCount, selectSamples } from '../data/dataset.js';
import { datasetSource, randomSource, type FeedSource } from '../eval/feeds.js';
import type { CalibrationFeed, QuantizeOptions } from '../quantize/index.js';
import type { RunnerFactory } from '../runtime/runner.js';
import { isRandomSpec, loadDataSpec, parseDataSpec } from './datasets.js';
import type { LoadedModel } from './load.js';
import { createNodeRunner } from './ort-runner.js';

export interface QuantizeContextFlags {
  readonly calib?: string | undefined;
  readonly calibSize?: number | undefined;
  readonly dataDir?: string | undefined;
  /** Values of symbolic input dims (`--dim name=value`, parsed by the CLI). */
  readonly dims?: Readonly<Record<string, number>> | undefined;
}

function toFeed(feeds: Record<string, import('../core/tensor.js').Tensor>): CalibrationFeed {
  const out: Record<string, CalibrationFeed[string]> = {};
  for (const [name, t] of Object.entries(feeds)) {
    out[name] = { dtype: t.dtype, shape: t.shape, data: typedView(t) as CalibrationFeed[string]['data'] };
  }
  return out;
}

/** Calibration batches (of up to 32 samples) from a source, `limit` samples in all. */
function batchesOf(source: FeedSource, limit: number): CalibrationFeed[] {
  const total = Math.min(limit, source.count);
  const step = Math.max(1, Math.min(32, source.maxBatch));
  const out: CalibrationFeed[] = [];
  for (let start = 0; start < total; start += step) out.push(toFeed(source.feeds(start, Math.min(total, start + step))));
  return out;
}

/**
 * The options `quantizeModel` needs to run models for `flags`: the onnxruntime-node runner factory and, with
 * --calib, the calibration batches. `log`, when given, hears one progress line (the caller decides whether to show it).
 */
/** Samples of --calib data held back from calibration for the fidelity guard. */
export const HOLDOUT_SIZE = 64;

export async function quantizeContext(
  model: LoadedModel,
  flags: QuantizeContextFlags,
  log?: (line: string) => void,
): Promise<{ options: Partial<QuantizeOptions> & { openRunner: RunnerFactory }; holdout?: FeedSource }> {
  const openRunner: RunnerFactory = (m, o) => createNodeRunner(m, o);
  const options: Partial<QuantizeOptions> & { openRunner: RunnerFactory } = { openRunner };
  if (flags.calib === undefined) return { options };
  const dims = { ...flags.dims };
  const size = flags.calibSize ?? 256;
  const runner = await createNodeRunner(model.onnx!.bytes, { file: model.path });
  let source: FeedSource;
  let holdout: FeedSource | undefined;
  try {
    if (isRandomSpec(flags.calib)) {
      source = randomSource(runner.inputs, size, { dims });
    } else {
      // a named dataset without a split calibrates on its seeded calibration subset of train
      const spec =
        parseDataSpec(flags.calib).split === undefined && !/\.(npz|npy)$/i.test(flags.calib) ? `${flags.calib}:calibration` : flags.calib;
      const dataDir = flags.dataDir ? { dataDir: flags.dataDir } : {};
      const loaded = await loadDataSpec(spec, { ...dataDir, calibrationSize: size, inputs: runner.inputs });
      if (spec.endsWith(':calibration') && spec !== flags.calib) {
        // a named dataset: calibrate on its train subset, measure on the first samples of its test split
        source = datasetSource(loaded, runner.inputs, { dims });
        const test = await loadDataSpec(`${flags.calib}:test`, { ...dataDir, inputs: runner.inputs });
        holdout = datasetSource(limitSamples(test, HOLDOUT_SIZE), runner.inputs, { dims });
      } else {
        // a file: the last samples (up to 64, at most a fifth) are held back from calibration
        const n = sampleCount(loaded);
        const held = Math.min(HOLDOUT_SIZE, Math.floor(n / 5));
        source = datasetSource(held > 0 ? limitSamples(loaded, n - held) : loaded, runner.inputs, { dims });
        if (held > 0) {
          const tail = Array.from({ length: held }, (_, k) => n - held + k);
          holdout = datasetSource(selectSamples(loaded, tail), runner.inputs, { dims });
        }
      }
    }
  } finally {
    await runner.dispose();
  }
  const calibration = batchesOf(source, size);
  log?.(`calibrating on ${Math.min(size, source.count)} samples of ${source.name}\n`);
  return { options: { ...options, calibration }, ...(holdout ? { holdout } : {}) };
}
