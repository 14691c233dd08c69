/**
 * Calibration as augment -> collect -> compute. The model is copied with
 * every tensor we want a range for added as a graph output; each
 * calibration batch runs through a Runner the caller supplies (so this file
 * stays browser-safe: onnxruntime-node in Node, onnxruntime-web in a page);
 * each output feeds a RangeCollector; computeRange turns the histograms into
 * ranges by the chosen method.
 */
import type { ModelProto } from 'onnx-buf';
import { ModelpressError } from '../../core/errors.js';
import { toFloat32, type Tensor } from '../../core/tensor.js';
import { cloneSharingBytes } from '../../formats/onnx/clone.js';
import { writeOnnx } from '../../formats/onnx/write.js';
import { makeValueInfo } from '../../graph/value-info.js';
import type { RunnerFactory } from '../../runtime/runner.js';
import { computeRange, RangeCollector, type CalibrationMethod, type Range } from '../calibrate.js';
import type { CalibrationFeed } from '../types.js';

/** A calibration feed as Runner tensors (raw little-endian bytes). */
export function feedTensors(feed: CalibrationFeed): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, v] of Object.entries(feed)) {
    const d = v.data;
    out[name] = { dtype: v.dtype as Tensor['dtype'], shape: [...v.shape], data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) };
  }
  return out;
}

/** `model` with `tensors` added as graph outputs (types left for the runtime to infer). */
export function augmentWithOutputs(model: ModelProto, tensors: readonly string[]): ModelProto {
  const copy = cloneSharingBytes(model);
  const graph = copy.graph!;
  const present = new Set(graph.output.map((o) => o.name));
  for (const t of tensors) if (!present.has(t)) graph.output.push(makeValueInfo(t, 0));
  return copy;
}

/** Histograms of `tensors` over every calibration batch, run through one session opened with `runtime.openRunner`. */
export async function collectRanges(
  model: ModelProto,
  tensors: readonly string[],
  batches: readonly CalibrationFeed[],
  runtime: { openRunner?: RunnerFactory | undefined },
  file?: string,
): Promise<Map<string, RangeCollector>> {
  const collectors = new Map(tensors.map((t) => [t, new RangeCollector()] as const));
  if (tensors.length === 0) return collectors;
  const bytes = writeOnnx(augmentWithOutputs(model, tensors));
  if (!runtime.openRunner)
    throw new ModelpressError('E_ARG', 'calibration needs a runtime (openRunner)', file === undefined ? {} : { file });
  const runner = await runtime.openRunner(bytes, file === undefined ? {} : { file });
  try {
    for (const batch of batches) {
      const out = await runner.run(feedTensors(batch), tensors);
      for (const t of tensors) {
        const v = out[t];
        if (!v)
          throw new ModelpressError(
            'E_GRAPH',
            `calibration: onnxruntime returned no value for tensor '${t}'`,
            file === undefined ? {} : { file },
          );
        collectors.get(t)!.add(toFloat32(v));
      }
    }
  } finally {
    await runner.dispose();
  }
  return collectors;
}

/** The range of each collected tensor by `method`. */
export function rangesOf(
  collectors: ReadonlyMap<string, RangeCollector>,
  method: CalibrationMethod,
  percentile?: number,
): Map<string, Range> {
  const out = new Map<string, Range>();
  for (const [t, c] of collectors) out.set(t, computeRange(c, method, percentile === undefined ? {} : { percentile }));
  return out;
}
