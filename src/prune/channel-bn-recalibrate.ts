/**
 * BatchNormalization statistics after a channel cut: removing channels
 * changes what the later layers see, so running means and variances measured
 * on the uncut network no longer fit (a one-shot cut can fall to chance
 * accuracy before any fine-tuning). This recomputes them on data, one
 * BatchNormalization at a time in graph order, each measured with the ones
 * before it already refreshed: the exact mean and (biased) variance over the
 * examples and spatial positions, as a training-mode pass would see them.
 * Browser-safe: the runtime is passed in as a RunnerFactory.
 */
import type { ModelProto, NodeProto } from 'onnx-buf';
import { TensorProto_DataType } from 'onnx-buf';
import { ModelpressError } from '../core/errors.js';
import { writeOnnx } from '../formats/onnx/write.js';
import { cloneModel, setInitializerValues } from '../graph/model-edit.js';
import { topologicalSort } from '../graph/toposort.js';
import { makeValueInfo } from '../graph/value-info.js';
import type { RunnerFactory } from '../runtime/runner.js';
import { floatTensor, floatValues } from '../runtime/tensors.js';
import { floatView, limitSamples, sampleCount, type Dataset } from '../data/dataset.js';
import { TRAINING_RUNNER_OPTIONS } from '../runtime/runner.js';

export interface BnRecalibrationOptions {
  /** Examples (the first ones of the data) the statistics are measured on; default 2000. */
  examples?: number;
  /** Examples per onnxruntime run; default 256. */
  batchSize?: number;
}

export interface BnRecalibrationResult {
  /** A copy of the model with fresh running_mean / running_var. */
  model: ModelProto;
  /** Names of the BatchNormalization nodes whose statistics were replaced. */
  layers: string[];
}

/** Per-channel mean and biased variance of axis 1 of a [N, C, ...] float tensor, accumulated across batches. */
class ChannelMoments {
  private readonly sum: Float64Array;
  private readonly sumSq: Float64Array;
  private count = 0;

  constructor(readonly channels: number) {
    this.sum = new Float64Array(channels);
    this.sumSq = new Float64Array(channels);
  }

  add(values: Float32Array, dims: readonly number[]): void {
    const c = dims[1];
    if (dims.length < 2 || c !== this.channels)
      throw new ModelpressError('E_SHAPE', `BatchNormalization input has shape [${dims.join(', ')}], expected [N, ${this.channels}, ...]`);
    const inner = dims.slice(2).reduce((a, b) => a * b, 1);
    for (let i = 0; i < values.length; i++) {
      const ch = Math.floor(i / inner) % c;
      const v = values[i]!;
      this.sum[ch] += v;
      this.sumSq[ch] += v * v;
    }
    this.count += dims[0]! * inner;
  }

  result(): { mean: Float32Array; variance: Float32Array } {
    const mean = new Float32Array(this.channels);
    const variance = new Float32Array(this.channels);
    for (let ch = 0; ch < this.channels; ch++) {
      const m = this.sum[ch]! / this.count;
      mean[ch] = m;
      variance[ch] = Math.max(0, this.sumSq[ch]! / this.count - m * m);
    }
    return { mean, variance };
  }
}

function isRecalibratable(node: NodeProto, inits: ReadonlySet<string>): boolean {
  return (
    node.opType === 'BatchNormalization' &&
    (node.domain === '' || node.domain === 'ai.onnx') &&
    inits.has(node.input[3] ?? '') &&
    inits.has(node.input[4] ?? '')
  );
}

/** Recomputes the running statistics of every BatchNormalization (constant mean/variance) of the main graph on `data`. */
export async function recalibrateBatchNorm(
  openRunner: RunnerFactory,
  model: ModelProto,
  dataset: Dataset,
  opts: BnRecalibrationOptions = {},
): Promise<BnRecalibrationResult> {
  const examples = Math.min(opts.examples ?? 2000, sampleCount(dataset));
  const batchSize = opts.batchSize ?? 256;
  if (!(examples >= 1))
    throw new ModelpressError('E_ARG', `BatchNormalization recalibration needs at least one example, got ${sampleCount(dataset)}`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new ModelpressError('E_ARG', `batchSize must be a positive integer, got ${batchSize}`);
  const out = cloneModel(model);
  const graph = out.graph;
  if (!graph) throw new ModelpressError('E_GRAPH', 'model has no graph');
  const inits = new Set(graph.initializer.map((t) => t.name));
  const input = graph.input.find((i) => !inits.has(i.name));
  if (!input) throw new ModelpressError('E_GRAPH', 'model has no non-initializer input');
  const data = floatView(limitSamples(dataset, examples));
  const size = data.sampleShape.reduce((a, b) => a * b, 1);
  const layers: string[] = [];
  for (const bn of topologicalSort(graph).filter((n) => isRecalibratable(n, inits))) {
    // Probe: the same graph with the BatchNormalization's input as its only output.
    const probe = cloneModel(out);
    const x = bn.input[0]!;
    probe.graph!.output = [makeValueInfo(x, TensorProto_DataType.FLOAT)];
    probe.graph!.valueInfo = probe.graph!.valueInfo.filter((v) => v.name !== x);
    const runner = await openRunner(writeOnnx(probe), {
      ...TRAINING_RUNNER_OPTIONS,
      generated: `the BatchNormalization probe of '${bn.name || x}'`,
    });
    try {
      const channels = graph.initializer.find((t) => t.name === bn.input[3])!.dims.reduce((a, d) => a * Number(d), 1);
      const moments = new ChannelMoments(channels);
      for (let start = 0; start < examples; start += batchSize) {
        const n = Math.min(batchSize, examples - start);
        const feed = floatTensor(data.inputs.subarray(start * size, (start + n) * size), [n, ...data.sampleShape]);
        const y = (await runner.run({ [input.name]: feed }, [x]))[x]!;
        moments.add(floatValues(y), y.shape);
      }
      const { mean, variance } = moments.result();
      setInitializerValues(out, { [bn.input[3]!]: mean, [bn.input[4]!]: variance });
      layers.push(bn.name || x);
    } finally {
      await runner.dispose();
    }
  }
  return { model: out, layers };
}
