import { ModelpressError } from '../core/errors.js';
import { BinaryDecoder, BinaryEncoder, newContexts } from './arith.js';

/**
 * Context-adaptive binary arithmetic coding of integer tensors (DeepCABAC style).
 *
 * Binarization of each value v, in storage order:
 *   sig      v != 0                 context: local magnitude class c x (prev == 0)
 *   sign     v < 0                  context: sign of the previous value (0, +, -)
 *   gt_k     |v| > k, k = 1..G      context: (k, c)
 *   rem      |v| - G - 1 >= 0       Exp-Golomb order 0: unary prefix with context (position, c),
 *                                   the top SUFFIX_CTX_BITS suffix bits with context
 *                                   (prefix length, bit), the rest bypass-coded
 * The local magnitude class c is log2 of an exponential moving average of |v|
 * over roughly the last 8 values: it tracks per-channel scale changes inside a
 * tensor, which an order-0 Huffman code cannot.
 *
 * Stream: u8 G (number of greater-than flags, 0..32), then the range coder bytes.
 */
export interface CabacOptions {
  /** Number of greater-than-k flags before the Exp-Golomb remainder (0..32). Default 1 (best on 8- and 5-bit quantized real weights). */
  gtFlags?: number;
}

const DEFAULT_GT_FLAGS = 1;
const MAX_GT_FLAGS = 32;
const MAG_CLASSES = 14;
const MAX_PREFIX = 32;
const SUFFIX_CTX_BITS = 3;
/** EMA of |v| in 1/16 units: ema += (16|v| - ema) >> EMA_SHIFT. */
const EMA_SHIFT = 3;
/** |v| is clamped before entering the average so int32 extremes cannot overflow it. */
const EMA_CLAMP = 1 << 20;

function magClass(ema: number): number {
  const m = ema >>> 2; // quarter units
  if (m === 0) return 0;
  const c = 32 - Math.clz32(m);
  return c < MAG_CLASSES ? c : MAG_CLASSES - 1;
}

interface Models {
  sig: Uint16Array;
  sign: Uint16Array;
  gt: Uint16Array;
  prefix: Uint16Array;
  suffix: Uint16Array;
}

function newModels(gtFlags: number): Models {
  return {
    sig: newContexts(MAG_CLASSES * 2),
    sign: newContexts(3),
    gt: newContexts(Math.max(1, gtFlags) * MAG_CLASSES),
    prefix: newContexts(MAX_PREFIX * MAG_CLASSES),
    suffix: newContexts(MAX_PREFIX * SUFFIX_CTX_BITS),
  };
}

export function encodeIntsCabac(values: Int32Array, options: CabacOptions = {}): Uint8Array {
  const gtFlags = options.gtFlags ?? DEFAULT_GT_FLAGS;
  if (!Number.isInteger(gtFlags) || gtFlags < 0 || gtFlags > MAX_GT_FLAGS)
    throw new ModelpressError('E_ARG', `cabac: gtFlags ${gtFlags} is outside 0..${MAX_GT_FLAGS}`);
  const m = newModels(gtFlags);
  const enc = new BinaryEncoder(Math.max(64, values.length >> 1));
  let prev = 0;
  let ema = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const cls = magClass(ema);
    enc.encodeBit(m.sig, cls * 2 + (prev === 0 ? 1 : 0), v !== 0 ? 1 : 0);
    const mag = v < 0 ? -v : v; // up to 2^31 as a double: fine
    if (v !== 0) {
      enc.encodeBit(m.sign, prev === 0 ? 0 : prev > 0 ? 1 : 2, v < 0 ? 1 : 0);
      let k = 1;
      for (; k <= gtFlags; k++) {
        const gt = mag > k ? 1 : 0;
        enc.encodeBit(m.gt, (k - 1) * MAG_CLASSES + cls, gt);
        if (!gt) break;
      }
      if (k > gtFlags) encodeRemainder(enc, m, mag - gtFlags - 1, cls);
    }
    ema += ((mag < EMA_CLAMP ? mag : EMA_CLAMP) * 16 - ema) >> EMA_SHIFT;
    prev = v;
  }
  const body = enc.finish();
  const out = new Uint8Array(1 + body.length);
  out[0] = gtFlags;
  out.set(body, 1);
  return out;
}

/** Exp-Golomb order 0 of r >= 0: prefix p = floor(log2(r + 1)) in unary, then p suffix bits. */
function encodeRemainder(enc: BinaryEncoder, m: Models, r: number, cls: number): void {
  const x = r + 1; // 1 .. 2^31: an exact uint32
  const p = 31 - Math.clz32(x);
  for (let i = 0; i < p; i++) enc.encodeBit(m.prefix, i * MAG_CLASSES + cls, 1);
  enc.encodeBit(m.prefix, p * MAG_CLASSES + cls, 0);
  for (let b = p - 1; b >= 0; b--) {
    const bit = (x >>> b) & 1;
    const fromTop = p - 1 - b;
    if (fromTop < SUFFIX_CTX_BITS) enc.encodeBit(m.suffix, p * SUFFIX_CTX_BITS + fromTop, bit);
    else enc.encodeBypass(bit, 1);
  }
}

export function decodeIntsCabac(bytes: Uint8Array, count: number): Int32Array {
  const what = 'cabac stream';
  if (!Number.isSafeInteger(count) || count < 0) throw new ModelpressError('E_ARG', `cabac: count ${count} is not a non-negative integer`);
  if (bytes.length < 1) throw new ModelpressError('E_TRUNCATED', `${what}: missing header byte`);
  const gtFlags = bytes[0]!;
  if (gtFlags > MAX_GT_FLAGS)
    throw new ModelpressError('E_CORRUPT', `${what}: gtFlags ${gtFlags} at offset 0 is outside 0..${MAX_GT_FLAGS}`);
  const m = newModels(gtFlags);
  const dec = new BinaryDecoder(bytes, what, 1);
  const out = new Int32Array(count);
  let prev = 0;
  let ema = 0;
  for (let i = 0; i < count; i++) {
    const cls = magClass(ema);
    let v = 0;
    let mag = 0;
    if (dec.decodeBit(m.sig, cls * 2 + (prev === 0 ? 1 : 0))) {
      const negative = dec.decodeBit(m.sign, prev === 0 ? 0 : prev > 0 ? 1 : 2);
      mag = 1;
      let k = 1;
      for (; k <= gtFlags; k++) {
        if (!dec.decodeBit(m.gt, (k - 1) * MAG_CLASSES + cls)) break;
        mag++;
      }
      if (k > gtFlags) mag = gtFlags + 1 + decodeRemainder(dec, m, cls, what, i);
      if (mag > (negative ? 2147483648 : 2147483647)) throw new ModelpressError('E_CORRUPT', `${what}: value ${i} does not fit in int32`);
      v = negative ? -mag : mag;
    }
    out[i] = v;
    ema += ((mag < EMA_CLAMP ? mag : EMA_CLAMP) * 16 - ema) >> EMA_SHIFT;
    prev = v;
  }
  dec.checkEnd();
  return out;
}

function decodeRemainder(dec: BinaryDecoder, m: Models, cls: number, what: string, index: number): number {
  let p = 0;
  while (dec.decodeBit(m.prefix, p * MAG_CLASSES + cls)) {
    p++;
    if (p >= MAX_PREFIX)
      throw new ModelpressError('E_CORRUPT', `${what}: Exp-Golomb prefix of value ${index} is longer than ${MAX_PREFIX - 1} bits`);
  }
  let x = 1;
  for (let b = p - 1; b >= 0; b--) {
    const fromTop = p - 1 - b;
    const bit = fromTop < SUFFIX_CTX_BITS ? dec.decodeBit(m.suffix, p * SUFFIX_CTX_BITS + fromTop) : dec.decodeBypass(1);
    x = x * 2 + bit;
  }
  return x - 1;
}
