import { describe, expect, it } from 'vitest';
import type { EvaluationResult } from '../../src/eval/evaluate.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { buildEvalRecord, formatSnr, snrForJson } from '../../src/report/record.js';

const result = (over: Partial<EvaluationResult> = {}): EvaluationResult => ({
  source: 'fashion-mnist:test',
  samples: 4,
  batchSize: 2,
  runs: 2,
  outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 2] }],
  inputs: [{ name: 'image', dtype: 'float32', shape: [1, 2] }],
  classification: {
    output: 'logits',
    classes: 2,
    predictions: Int32Array.of(0, 1, 1, 1),
    report: {
      accuracy: 0.75,
      samples: 4,
      perClass: [
        { class: 0, precision: 1, recall: 0.5, f1: 2 / 3, support: 2, predicted: 1 },
        { class: 1, precision: 2 / 3, recall: 1, f1: 0.8, support: 2, predicted: 3 },
      ],
      precisionMacro: 5 / 6,
      recallMacro: 0.75,
      f1Macro: (2 / 3 + 0.8) / 2,
      precisionWeighted: 5 / 6,
      recallWeighted: 0.75,
      f1Weighted: (2 / 3 + 0.8) / 2,
    },
    confusion: [
      [1, 1],
      [0, 2],
    ],
    topK: undefined,
  },
  fidelity: [
    { name: 'logits', elements: 8, cosine: 1, snrDb: Infinity, maxAbsError: 0, meanAbsError: 0, top1Agreement: 1, identical: true },
  ],
  throughput: 1000,
  latency: { runs: 5, p50: 0.5, p95: 0.9, p99: 1, mean: 0.6, min: 0.4, max: 1 },
  latencyBatch: { runs: 5, p50: 0.8, p95: 1.2, p99: 1.3, mean: 0.9, min: 0.7, max: 1.3, batchSize: 2 },
  ...over,
});

describe('canonical record and Markdown', () => {
  it('builds the stable JSON record; infinite SNR is the string "inf"', () => {
    const info = { sizeBytes: 1000, params: 250, tensors: 2 };
    const rec = buildEvalRecord({
      model: 'small.onnx',
      info,
      result: result(),
      peakRssBytes: 123,
      reference: { model: 'big.onnx', info: { sizeBytes: 4000, params: 1000, tensors: 2 } },
    });
    expect(rec).toMatchObject({
      schema: 'modelpress.eval/2',
      sizeBytes: 1000,
      params: 250,
      compressionRatio: 4,
      accuracy: 0.75,
      peakRssBytes: 123,
      latencyMs: { batchSize: 1, p50: 0.5, p95: 0.9 },
      latencyBatchMs: { batchSize: 2, p50: 0.8 },
      fidelity: { reference: 'big.onnx', output: 'logits', cosine: 1, snrDb: 'inf', top1Agreement: 1 },
      reference: { model: 'big.onnx', sizeBytes: 4000, params: 1000 },
    });
    expect(JSON.parse(JSON.stringify(rec))).toEqual(rec);
    expect([snrForJson(Infinity), snrForJson(-Infinity), snrForJson(12.5)]).toEqual(['inf', '-inf', 12.5]);
    expect([formatSnr('inf'), formatSnr(20), formatSnr(null)]).toEqual(['inf', '20.0 dB', '-']);
  });

  it('renders unlabeled records with dashes, never "null" or "NaN"', () => {
    const info = { sizeBytes: 2048, params: 10, tensors: 1 };
    const rec = buildEvalRecord({
      model: 'm.onnx',
      info,
      result: result({ classification: undefined, fidelity: undefined, latencyBatch: undefined }),
    });
    expect(rec).toMatchObject({
      accuracy: null,
      f1Macro: null,
      perClass: null,
      confusionMatrix: null,
      fidelity: null,
      compressionRatio: null,
      peakRssBytes: null,
    });
    const md = renderMarkdown([rec]);
    expect(md).toContain('| m.onnx | 2.00 KiB | 10 | - | - | - | - | - | - | 0.500 ms | 0.900 ms | 1,000/s | - |');
    expect(md).not.toMatch(/null|NaN|undefined/);
  });

  it('renders per-class F1 and batch latency sections', () => {
    const rec = buildEvalRecord({ model: 'a|b.onnx', info: { sizeBytes: 10, params: 1, tensors: 1 }, result: result() });
    const md = renderMarkdown([rec], { title: 'T' });
    expect(md.startsWith('# T\n')).toBe(true);
    expect(md).toContain('a\\|b.onnx'); // pipes escaped
    expect(md).toContain('| a\\|b.onnx | 0.667 | 0.800 |');
    expect(md).toContain('| a\\|b.onnx | 2 | 0.800 ms | 1.20 ms | 1.30 ms | 0.400 ms |');
  });
});
