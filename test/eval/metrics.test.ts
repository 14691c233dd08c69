import { describe, expect, it } from 'vitest';
import { FidelityAccumulator } from '../../src/eval/fidelity.js';
import { argmax, classificationReport, confusionMatrix, inTopK, latencyStats, percentile } from '../../src/eval/metrics.js';

describe('argmax and top-k tie-breaking', () => {
  it('breaks ties toward the lowest index and never picks NaN', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([7, 7, 7])).toBe(0);
    expect(argmax([NaN, 1, 1])).toBe(1);
    expect(argmax([-Infinity, -Infinity])).toBe(0);
    expect(argmax([9, 1, 5, 5, 0], 2, 3)).toBe(0); // offset 2: [5, 5, 0]
  });

  it('ranks equal scores by lower index, so top-1 equals argmax', () => {
    const s = [5, 5, 5, 1];
    expect(inTopK(s, 0, 4, 1, 2)).toBe(true); // only class 0 ranks above
    expect(inTopK(s, 0, 4, 2, 2)).toBe(false); // classes 0 and 1 rank above
    expect(inTopK(s, 0, 4, 3, 3)).toBe(false);
    expect(inTopK(s, 0, 4, 3, 4)).toBe(true);
    for (let label = 0; label < 4; label++) expect(inTopK(s, 0, 4, label, 1)).toBe(argmax(s) === label);
    expect(inTopK([NaN, 1], 0, 2, 0, 2)).toBe(false);
  });
});

describe('classification report (hand-worked)', () => {
  it('class imbalance, a class never predicted, a class absent from both', () => {
    // 4 classes; class 2 is never predicted; class 3 neither occurs nor is predicted.
    const labels = [0, 0, 0, 0, 1, 1, 2];
    const preds = [0, 0, 0, 1, 1, 0, 1];
    const m = confusionMatrix(labels, preds, 4);
    expect(m).toEqual([
      [3, 1, 0, 0],
      [1, 1, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 0, 0],
    ]);
    const r = classificationReport(m);
    expect(r.accuracy).toBeCloseTo(4 / 7, 12);
    expect(r.perClass[0]).toMatchObject({ precision: 0.75, recall: 0.75, support: 4, predicted: 4 });
    expect(r.perClass[0]!.f1).toBeCloseTo(0.75, 12);
    expect(r.perClass[1]!.precision).toBeCloseTo(1 / 3, 12);
    expect(r.perClass[1]!.recall).toBe(0.5);
    expect(r.perClass[1]!.f1).toBeCloseTo(0.4, 12);
    expect(r.perClass[2]).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 1, predicted: 0 });
    expect(r.perClass[3]).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 0, predicted: 0 });
    // Macro over the 3 classes present in labels or predictions (class 3 excluded).
    expect(r.precisionMacro).toBeCloseTo((0.75 + 1 / 3 + 0) / 3, 12);
    expect(r.recallMacro).toBeCloseTo((0.75 + 0.5 + 0) / 3, 12);
    expect(r.f1Macro).toBeCloseTo((0.75 + 0.4 + 0) / 3, 12);
    expect(r.f1Weighted).toBeCloseTo((0.75 * 4 + 0.4 * 2) / 7, 12);
    expect(r.recallWeighted).toBeCloseTo(4 / 7, 12);
    expect(r.precisionWeighted).toBeCloseTo((0.75 * 4 + (1 / 3) * 2) / 7, 12);
  });

  it('a class absent from the labels but predicted counts in the macro average with F1 0', () => {
    const r = classificationReport(confusionMatrix([0, 0, 1], [0, 2, 1], 3));
    expect(r.perClass[2]).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 0, predicted: 1 });
    expect(r.perClass[0]!.f1).toBeCloseTo(2 / 3, 12);
    expect(r.f1Macro).toBeCloseTo((2 / 3 + 1 + 0) / 3, 12);
    expect(r.f1Weighted).toBeCloseTo(((2 / 3) * 2 + 1) / 3, 12);
    expect(Number.isNaN(r.precisionMacro)).toBe(false);
  });

  it('rejects labels outside the classes', () => {
    expect(() => confusionMatrix([0, 5], [0, 1], 3)).toThrow(/label 5 of sample 1/);
  });
});

describe('latency statistics', () => {
  it('uses nearest-rank percentiles', () => {
    const ten = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
    expect(latencyStats(ten)).toMatchObject({ runs: 10, p50: 5, p95: 10, p99: 10, mean: 5.5, min: 1, max: 10 });
    const hundred = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 95)).toBe(95);
    expect(percentile(hundred, 99)).toBe(99);
    expect(latencyStats([])).toMatchObject({ runs: 0, p50: 0, mean: 0 });
  });
});

describe('fidelity', () => {
  const fid = (ref: number[], model: number[], classes = 0) => {
    const a = new FidelityAccumulator('y', classes);
    a.add(ref, model);
    return a.result();
  };

  it('identical outputs: cosine 1, SNR +inf, agreement 1, zero error (also for all-zero and NaN outputs)', () => {
    expect(fid([1, 2, 3, 4], [1, 2, 3, 4], 2)).toMatchObject({
      cosine: 1,
      snrDb: Infinity,
      top1Agreement: 1,
      maxAbsError: 0,
      meanAbsError: 0,
      identical: true,
    });
    expect(fid([0, 0], [0, 0])).toMatchObject({ cosine: 1, snrDb: Infinity, identical: true });
    expect(fid([NaN, 1], [NaN, 1])).toMatchObject({ cosine: 1, snrDb: Infinity, identical: true });
  });

  it('a known perturbation: 20 dB, exact errors and cosine', () => {
    const r = fid([3, 4], [3, 4.5]);
    expect(r.snrDb).toBeCloseTo(20, 10); // 25 / 0.25 = 100
    expect(r.maxAbsError).toBe(0.5);
    expect(r.meanAbsError).toBe(0.25);
    expect(r.cosine).toBeCloseTo((9 + 18) / (5 * Math.sqrt(9 + 20.25)), 12);
    expect(r.identical).toBe(false);
  });

  it('edge cases stay finite or ±Infinity, never NaN', () => {
    const zeroRef = fid([0, 0], [1, 0]);
    expect(zeroRef.snrDb).toBe(-Infinity);
    expect(zeroRef.cosine).toBe(0);
    const opposite = fid([1, 2], [-1, -2]);
    expect(opposite.cosine).toBeCloseTo(-1, 12);
  });

  it('counts top-1 agreement per row over batches', () => {
    const a = new FidelityAccumulator('logits', 2);
    a.add([1, 0, 0, 1], [1, 0, 1, 0]);
    a.add([5, 5], [5, 6]); // ref argmax 0 (tie → lowest), model 1
    expect(a.result().top1Agreement).toBeCloseTo(1 / 3, 12);
    expect(fid([1, 2], [1, 2], 0).top1Agreement).toBeUndefined();
  });
});
