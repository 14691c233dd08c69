/**
 * Fidelity of a model's outputs against a reference model's outputs on the
 * same inputs, accumulated batch by batch. Never NaN: identical outputs give
 * cosine 1 and SNR +Infinity; an all-zero reference with a non-zero error gives
 * SNR -Infinity, and so does an Inf or NaN in the model's output where the
 * reference has none.
 */
import { argmax } from './metrics.js';

export interface FidelityStats {
  readonly name: string;
  readonly elements: number;
  readonly cosine: number;
  /** 10·log10(Σref² / Σ(ref−x)²) in dB; ±Infinity at the edges (see file comment). */
  readonly snrDb: number;
  readonly maxAbsError: number;
  readonly meanAbsError: number;
  /** Fraction of rows (last axis = classes) whose argmax agrees; undefined when the output is not class scores. */
  readonly top1Agreement: number | undefined;
  /** Every element equal (NaN equal to NaN). */
  readonly identical: boolean;
}

/** Streaming accumulator for one output. */
export class FidelityAccumulator {
  private elements = 0;
  private dot = 0;
  private refSquares = 0;
  private modelSquares = 0;
  private errorSquares = 0;
  private absErrorSum = 0;
  private maxAbsError = 0;
  private rows = 0;
  private agreeingRows = 0;
  private identical = true;

  constructor(
    readonly name: string,
    /** Size of the class axis (last axis) when the output holds class scores; 0 disables agreement. */
    private readonly classes: number,
  ) {}

  add(reference: ArrayLike<number>, model: ArrayLike<number>): void {
    if (reference.length !== model.length)
      throw new RangeError(`output '${this.name}': reference has ${reference.length} values, model ${model.length}`);
    for (let i = 0; i < reference.length; i++) {
      const r = reference[i]!;
      const x = model[i]!;
      if (r !== x && !(Number.isNaN(r) && Number.isNaN(x))) this.identical = false;
      const d = r - x;
      const ad = Math.abs(d);
      this.dot += r * x;
      this.refSquares += r * r;
      this.modelSquares += x * x;
      if (!Number.isNaN(ad)) {
        this.errorSquares += d * d;
        this.absErrorSum += ad;
        if (ad > this.maxAbsError) this.maxAbsError = ad;
      } else if (!(Number.isNaN(r) && Number.isNaN(x))) {
        // a NaN on one side only is an unbounded error (SNR -Infinity), not one to skip
        this.errorSquares = Infinity;
        this.absErrorSum = Infinity;
        this.maxAbsError = Infinity;
      }
    }
    this.elements += reference.length;
    const c = this.classes;
    if (c >= 2) {
      for (let off = 0; off + c <= reference.length; off += c) {
        this.rows++;
        if (argmax(reference, off, c) === argmax(model, off, c)) this.agreeingRows++;
      }
    }
  }

  result(): FidelityStats {
    let cosine: number;
    const norms = Math.sqrt(this.refSquares) * Math.sqrt(this.modelSquares);
    if (this.identical) cosine = 1;
    else if (norms === 0 || !Number.isFinite(norms)) cosine = norms === 0 ? 0 : clampCosine(this.dot / norms);
    else cosine = clampCosine(this.dot / norms);
    let snrDb: number;
    if (this.identical || this.errorSquares === 0) snrDb = Infinity;
    else if (this.refSquares === 0) snrDb = -Infinity;
    else snrDb = 10 * Math.log10(this.refSquares / this.errorSquares);
    return {
      name: this.name,
      elements: this.elements,
      cosine,
      snrDb,
      maxAbsError: this.maxAbsError,
      meanAbsError: this.elements ? this.absErrorSum / this.elements : 0,
      top1Agreement: this.classes >= 2 && this.rows > 0 ? this.agreeingRows / this.rows : undefined,
      identical: this.identical,
    };
  }
}

function clampCosine(c: number): number {
  return Number.isNaN(c) ? 0 : Math.max(-1, Math.min(1, c));
}
