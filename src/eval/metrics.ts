/**
 * Classification metrics over predictions and labels. Conventions (fixed,
 * documented in docs/CLI.md):
 * - argmax breaks ties toward the lowest class index; NaN never wins.
 * - top-k: a sample is a hit when fewer than k classes rank above its label,
 *   ranking by score and then by lower index (so top-1 = argmax).
 * - precision of a class never predicted, recall of a class absent from the
 *   labels, and F1 when precision + recall = 0 are 0 (no NaN).
 * - macro averages run over the classes present in the labels or the
 *   predictions; weighted averages weight by support (label count).
 */

/** Index of the largest of `n` scores starting at `offset`; lowest index on ties. */
export function argmax(scores: ArrayLike<number>, offset = 0, n = scores.length - offset): number {
  let best = 0;
  let bestValue = -Infinity;
  let seen = false;
  for (let j = 0; j < n; j++) {
    const v = scores[offset + j]!;
    if (v > bestValue || (!seen && v === bestValue)) {
      best = j;
      bestValue = v;
      seen = true;
    }
  }
  return best;
}

/** Whether `label` is among the top `k` of the `n` scores at `offset` (ties ranked by lower index). */
export function inTopK(scores: ArrayLike<number>, offset: number, n: number, label: number, k: number): boolean {
  const s = scores[offset + label]!;
  if (Number.isNaN(s)) return false;
  let above = 0;
  for (let j = 0; j < n; j++) {
    const v = scores[offset + j]!;
    if (v > s || (v === s && j < label)) above++;
    if (above >= k) return false;
  }
  return true;
}

/** Confusion matrix: rows are true labels, columns predictions. Labels outside [0, classes) are an error. */
export function confusionMatrix(labels: ArrayLike<number>, predictions: ArrayLike<number>, classes: number): number[][] {
  if (labels.length !== predictions.length) throw new RangeError(`${labels.length} labels but ${predictions.length} predictions`);
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i]!;
    const p = predictions[i]!;
    if (!(t >= 0 && t < classes)) throw new RangeError(`label ${t} of sample ${i} is outside [0, ${classes})`);
    m[t]![p]!++;
  }
  return m;
}

export interface ClassMetrics {
  readonly class: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Samples whose label is this class. */
  readonly support: number;
  /** Samples predicted as this class. */
  readonly predicted: number;
}

export interface ClassificationReport {
  readonly accuracy: number;
  readonly samples: number;
  readonly perClass: readonly ClassMetrics[];
  readonly precisionMacro: number;
  readonly recallMacro: number;
  readonly f1Macro: number;
  readonly precisionWeighted: number;
  readonly recallWeighted: number;
  readonly f1Weighted: number;
}

/** Accuracy and per-class/averaged precision, recall and F1 from a confusion matrix. */
export function classificationReport(matrix: readonly (readonly number[])[]): ClassificationReport {
  const classes = matrix.length;
  let total = 0;
  let correct = 0;
  const perClass: ClassMetrics[] = [];
  for (let c = 0; c < classes; c++) {
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < classes; j++) {
      support += matrix[c]![j]!;
      predicted += matrix[j]![c]!;
    }
    const tp = matrix[c]![c]!;
    total += support;
    correct += tp;
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ class: c, precision, recall, f1, support, predicted });
  }
  const present = perClass.filter((m) => m.support > 0 || m.predicted > 0);
  const macro = (key: 'precision' | 'recall' | 'f1') => (present.length ? present.reduce((a, m) => a + m[key], 0) / present.length : 0);
  const weighted = (key: 'precision' | 'recall' | 'f1') => (total ? perClass.reduce((a, m) => a + m[key] * m.support, 0) / total : 0);
  return {
    accuracy: total ? correct / total : 0,
    samples: total,
    perClass,
    precisionMacro: macro('precision'),
    recallMacro: macro('recall'),
    f1Macro: macro('f1'),
    precisionWeighted: weighted('precision'),
    recallWeighted: weighted('recall'),
    f1Weighted: weighted('f1'),
  };
}

/** Nearest-rank percentile (p in [0, 100]) of already sorted values; NaN-free: empty → 0. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export interface LatencyStats {
  readonly runs: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** Summary of run times in milliseconds. */
export function latencyStats(times: readonly number[]): LatencyStats {
  const sorted = Float64Array.from(times).sort();
  const mean = times.length ? times.reduce((a, b) => a + b, 0) / times.length : 0;
  return {
    runs: times.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    mean,
    min: sorted[0] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
  };
}
