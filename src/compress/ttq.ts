/**
 * Trained Ternary Quantization (Zhu et al. 2017) for QAT: each weight
 * layer's forward weights are ternary codes times two learned scales per
 * output channel, w_p for +1 and w_n for -1. The codes follow the float
 * shadow weights (threshold 0.7 * mean |w| of the channel, refreshed after
 * every step); the scales start at TTQ's initialization (src/quantize/
 * ternary.ts ttqCodes) and are trained by their own gradients:
 *
 *   dL/dw_p = sum of g_i over the +1 codes,  dL/dw_n = -sum of g_i over the -1 codes
 *
 * (g: the gradient at the fed weights), with Adam at the run's learning rate
 * and schedule. The shadow weights take g straight through: the paper scales
 * it by w_p / 1 / w_n per code set, a per-element factor that Adam's
 * per-element normalisation cancels while the sets hold, so it is left out.
 * The fed weights are exactly what the `ttq` export stores (a tensor already
 * in TTQ form is kept as it is), so the exported model computes with the
 * weights training saw.
 */
import type { LrSchedule } from '../train/schedules.js';
import { axisSplit } from '../quantize/linear.js';
import { dequantizeCodes, ttqCodes } from '../quantize/ternary.js';

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

/** One layer's TTQ state: the learned scales, the current codes and the fed weights. */
export class TtqLayer {
  readonly pos: Float32Array;
  readonly neg: Float32Array;
  private codes: Int8Array;
  /** The weights the training graph is fed (refreshed in place). */
  readonly fed: Float32Array;
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;
  private readonly channelOf: (i: number) => number;

  constructor(
    private readonly shadow: Float32Array,
    private readonly shape: readonly number[],
    private readonly axis: number | undefined,
  ) {
    const r = ttqCodes(shadow, shape, axis);
    this.pos = Float32Array.from(r.scales);
    this.neg = Float32Array.from(r.negScales!);
    this.codes = r.codes;
    this.fed = dequantizeCodes(r, shape);
    this.m = new Float64Array(2 * this.pos.length);
    this.v = new Float64Array(2 * this.pos.length);
    if (axis === undefined || shape.length === 0) this.channelOf = () => 0;
    else {
      const { channels, inner } = axisSplit(shape, axis);
      this.channelOf = (i) => Math.floor(i / inner) % channels;
    }
  }

  /** Gradients of the loss with respect to w_p and w_n per channel, given the gradient at the fed weights. */
  scaleGradients(g: Float32Array): { pos: Float64Array; neg: Float64Array } {
    const pos = new Float64Array(this.pos.length);
    const neg = new Float64Array(this.neg.length);
    for (let i = 0; i < g.length; i++) {
      const code = this.codes[i]!;
      if (code > 0) pos[this.channelOf(i)]! += g[i]!;
      else if (code < 0) neg[this.channelOf(i)]! -= g[i]!;
    }
    return { pos, neg };
  }

  /** One Adam step on the scales (they stay >= 0). */
  stepScales(g: Float32Array, lr: number): void {
    const { pos, neg } = this.scaleGradients(g);
    this.t++;
    const c1 = 1 - BETA1 ** this.t;
    const c2 = 1 - BETA2 ** this.t;
    const n = this.pos.length;
    for (let k = 0; k < 2 * n; k++) {
      const grad = k < n ? pos[k]! : neg[k - n]!;
      this.m[k] = BETA1 * this.m[k]! + (1 - BETA1) * grad;
      this.v[k] = BETA2 * this.v[k]! + (1 - BETA2) * grad * grad;
      const delta = (lr * (this.m[k]! / c1)) / (Math.sqrt(this.v[k]! / c2) + EPS);
      const target = k < n ? this.pos : this.neg;
      const i = k < n ? k : k - n;
      target[i] = Math.max(0, target[i]! - delta);
    }
  }

  /** Re-derives the codes from the (updated) shadow weights and refreshes the fed weights with the learned scales. */
  refresh(): void {
    const r = ttqCodes(this.shadow, this.shape, this.axis);
    this.codes = r.codes;
    this.fed.set(dequantizeCodes({ codes: r.codes, scales: this.pos, negScales: this.neg, axis: this.axis }, this.shape));
  }
}

/** Learning rate of the scales at `step` (the run's base rate times its schedule). */
export function scaleLr(lr: number, schedule: LrSchedule | undefined, step: number): number {
  return lr * (schedule ? schedule(step) : 1);
}
