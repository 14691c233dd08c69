import { ModelpressError } from '../core/errors.js';
import { BinaryDecoder, BinaryEncoder, newContexts } from './arith.js';
import { BitReader, BitWriter } from './bits.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { decodeHuffman, encodeHuffman } from './huffman.js';

/**
 * Sparse position coding. A tensor becomes (positions, values): `positions` is a
 * self-describing coded stream, `values` the stored elements in order, left to
 * the caller's value coder. Zero means the all-zero bit pattern (+0.0 for
 * floats; -0.0 and NaNs are stored values, so round trips are bit-exact).
 *
 * Layouts (first byte of `positions`):
 *   0 dense    every element is a value; nothing else stored.
 *   1 gap      Deep Compression relative indices: u8 gapBits b, varuint nValues, Huffman
 *              stream of gaps (zeros skipped before each value, alphabet 2^b). A gap larger
 *              than 2^b - 1 is split with filler zeros: symbol 2^b - 1 stores an explicit 0
 *              after 2^b - 1 skipped zeros.
 *   2 bitmask  varuint nValues, u8 mode (0 raw LSB-first bits, 1 adaptive arithmetic-coded
 *              bits with the previous 4 mask bits as context), the mask.
 *   3 csr      varuint rows, cols, nValues; per row varuint count; column indices in
 *              ceil(log2(cols)) bits each, LSB-first. Needs options.shape.
 */
export type SparseLayout = 'dense' | 'gap' | 'bitmask' | 'csr';

export interface SparseOptions {
  /** Gap width in bits (1..16) for the gap layout. Default: every width 1..8 is tried. Deep Compression used 4 (conv) and 5 (fc). */
  gapBits?: number;
  /** Estimated bits per stored value, used to charge filler zeros and dense layouts. Default: 32 for Float32Array, the order-0 entropy of the values for Int32Array. */
  valueBits?: number;
  /** Tensor shape; CSR is tried when given (rows = shape[0], cols = the product of the rest). */
  shape?: readonly number[];
  /** Layouts to consider. Default: all that apply. */
  layouts?: readonly SparseLayout[];
}

export interface SparseEncoded<T extends Float32Array | Int32Array> {
  layout: SparseLayout;
  /** Number of elements of the dense tensor. */
  length: number;
  /** Coded positions (self-describing; starts with the layout byte). */
  positions: Uint8Array;
  /** Stored values in order (filler zeros included for the gap layout). */
  values: T;
  /** positions.length + values.length * valueBits / 8: what the layout choice minimized. */
  estimatedBytes: number;
}

const LAYOUT_CODES: Record<SparseLayout, number> = { dense: 0, gap: 1, bitmask: 2, csr: 3 };
const LAYOUT_NAMES: SparseLayout[] = ['dense', 'gap', 'bitmask', 'csr'];
const MASK_CONTEXT_BITS = 4;

/** The raw 32-bit patterns of either array type (a view, no copy). */
function bitsView(dense: Float32Array | Int32Array): Int32Array {
  return dense instanceof Int32Array ? dense : new Int32Array(dense.buffer, dense.byteOffset, dense.length);
}

function makeLike<T extends Float32Array | Int32Array>(like: T, bits: Int32Array): T {
  return (like instanceof Float32Array ? new Float32Array(bits.buffer, bits.byteOffset, bits.length) : bits) as T;
}

function entropyBits(bits: Int32Array): number {
  const hist = new Map<number, number>();
  for (let i = 0; i < bits.length; i++) hist.set(bits[i]!, (hist.get(bits[i]!) ?? 0) + 1);
  let h = 0;
  for (const c of hist.values()) h -= c * Math.log2(c / bits.length);
  return bits.length > 0 ? Math.max(1, h / bits.length) : 1;
}

function encodeGaps(bits: Int32Array, gapBits: number): { positions: Uint8Array; values: Int32Array } {
  const maxGap = (1 << gapBits) - 1;
  const gaps: number[] = [];
  const values: number[] = [];
  let run = 0;
  for (let i = 0; i < bits.length; i++) {
    const v = bits[i]!;
    if (v === 0) {
      if (run === maxGap) {
        gaps.push(maxGap); // filler: maxGap zeros skipped, then an explicit zero
        values.push(0);
        run = 0;
      } else run++;
      continue;
    }
    gaps.push(run);
    values.push(v);
    run = 0;
  }
  const w = new ByteWriter(32);
  w.u8(LAYOUT_CODES.gap);
  w.u8(gapBits);
  w.varuint(values.length);
  w.bytes(encodeHuffman(Uint32Array.from(gaps), 1 << gapBits));
  return { positions: w.finish(), values: Int32Array.from(values) };
}

function encodeBitmask(bits: Int32Array): { positions: Uint8Array; values: Int32Array } {
  let nValues = 0;
  for (let i = 0; i < bits.length; i++) if (bits[i] !== 0) nValues++;
  const values = new Int32Array(nValues);
  const raw = new BitWriter(Math.ceil(bits.length / 8) + 8);
  const enc = new BinaryEncoder(Math.ceil(bits.length / 16) + 16);
  const probs = newContexts(1 << MASK_CONTEXT_BITS);
  let ctx = 0;
  for (let i = 0, k = 0; i < bits.length; i++) {
    const bit = bits[i] !== 0 ? 1 : 0;
    if (bit) values[k++] = bits[i]!;
    raw.writeBit(bit);
    enc.encodeBit(probs, ctx, bit);
    ctx = ((ctx << 1) | bit) & ((1 << MASK_CONTEXT_BITS) - 1);
  }
  const rawBytes = raw.finish();
  const coded = enc.finish();
  const w = new ByteWriter(32 + Math.min(rawBytes.length, coded.length));
  w.u8(LAYOUT_CODES.bitmask);
  w.varuint(nValues);
  if (coded.length < rawBytes.length) {
    w.u8(1);
    w.bytes(coded);
  } else {
    w.u8(0);
    w.bytes(rawBytes);
  }
  return { positions: w.finish(), values };
}

function bitsFor(n: number): number {
  return n <= 1 ? 0 : 32 - Math.clz32(n - 1);
}

function encodeCsr(bits: Int32Array, rows: number, cols: number): { positions: Uint8Array; values: Int32Array } {
  const colBits = bitsFor(cols);
  const values: number[] = [];
  const w = new ByteWriter(32 + rows);
  const cw = new BitWriter(64);
  w.u8(LAYOUT_CODES.csr);
  w.varuint(rows);
  w.varuint(cols);
  let nValues = 0;
  for (let i = 0; i < bits.length; i++) if (bits[i] !== 0) nValues++;
  w.varuint(nValues);
  for (let r = 0; r < rows; r++) {
    let count = 0;
    for (let c = 0; c < cols; c++) {
      const v = bits[r * cols + c]!;
      if (v !== 0) {
        count++;
        values.push(v);
        cw.writeBits(c, colBits);
      }
    }
    w.varuint(count);
  }
  w.bytes(cw.finish());
  return { positions: w.finish(), values: Int32Array.from(values) };
}

/** Splits `dense` into coded positions and values, choosing the layout with the smallest estimated size. */
export function encodeSparse<T extends Float32Array | Int32Array>(dense: T, options: SparseOptions = {}): SparseEncoded<T> {
  const bits = bitsView(dense);
  const length = dense.length;
  if (options.gapBits !== undefined && (!Number.isInteger(options.gapBits) || options.gapBits < 1 || options.gapBits > 16))
    throw new ModelpressError('E_ARG', `sparse: gapBits ${options.gapBits} is outside 1..16`);
  let valueBits = options.valueBits;
  if (valueBits === undefined) {
    if (dense instanceof Float32Array) valueBits = 32;
    else {
      const nz = bits.filter((v) => v !== 0);
      valueBits = entropyBits(nz.length > 0 ? nz : bits);
    }
  }
  const allowed = new Set<SparseLayout>(options.layouts ?? LAYOUT_NAMES);
  const candidates: { layout: SparseLayout; positions: Uint8Array; values: Int32Array }[] = [];
  if (allowed.has('dense')) candidates.push({ layout: 'dense', positions: Uint8Array.of(LAYOUT_CODES.dense), values: bits.slice() });
  if (allowed.has('gap')) {
    const widths = options.gapBits !== undefined ? [options.gapBits] : [1, 2, 3, 4, 5, 6, 7, 8];
    for (const b of widths) candidates.push({ layout: 'gap', ...encodeGaps(bits, b) });
  }
  if (allowed.has('bitmask')) candidates.push({ layout: 'bitmask', ...encodeBitmask(bits) });
  if (allowed.has('csr') && options.shape && options.shape.length >= 2) {
    const rows = options.shape[0]!;
    const cols = options.shape.slice(1).reduce((a, b) => a * b, 1);
    if (rows * cols !== length)
      throw new ModelpressError('E_SHAPE', `sparse: shape [${options.shape.join(', ')}] does not hold ${length} elements`);
    candidates.push({ layout: 'csr', ...encodeCsr(bits, rows, cols) });
  }
  if (candidates.length === 0) throw new ModelpressError('E_ARG', 'sparse: no layout allowed');
  let best = candidates[0]!;
  let bestCost = Infinity;
  for (const c of candidates) {
    const cost = c.positions.length + (c.values.length * valueBits) / 8;
    if (cost < bestCost) {
      best = c;
      bestCost = cost;
    }
  }
  return { layout: best.layout, length, positions: best.positions, values: makeLike(dense, best.values), estimatedBytes: bestCost };
}

interface Header {
  layout: SparseLayout;
  nValues: number;
  reader: ByteReader;
  /** CSR only. */
  rows: number;
}

function readHeader(positions: Uint8Array, length: number): Header {
  const what = 'sparse positions';
  if (!Number.isSafeInteger(length) || length < 0)
    throw new ModelpressError('E_ARG', `sparse: length ${length} is not a non-negative integer`);
  const reader = new ByteReader(positions, what);
  const code = reader.u8();
  const layout = LAYOUT_NAMES[code];
  if (!layout) throw new ModelpressError('E_CORRUPT', `${what}: unknown layout byte ${code} at offset 0`);
  if (layout === 'dense') return { layout, nValues: length, reader, rows: 0 };
  if (layout === 'csr') {
    const rows = reader.varuint();
    const cols = reader.varuint();
    if (rows * cols !== length)
      throw new ModelpressError('E_CORRUPT', `${what}: CSR shape ${rows}x${cols} does not hold ${length} elements`);
    const nValues = reader.varuint();
    if (nValues > length) throw new ModelpressError('E_CORRUPT', `${what}: ${nValues} values for ${length} elements`);
    return { layout, nValues, reader, rows };
  }
  if (layout === 'gap') {
    const gapBits = reader.u8();
    if (gapBits < 1 || gapBits > 16) throw new ModelpressError('E_CORRUPT', `${what}: gap width ${gapBits} at offset 1 is outside 1..16`);
  }
  const nValues = reader.varuint();
  if (nValues > length) throw new ModelpressError('E_CORRUPT', `${what}: ${nValues} values for ${length} elements`);
  return { layout, nValues, reader, rows: 0 };
}

/** How many values `decodeSparse` will need for these positions. */
export function sparseValueCount(positions: Uint8Array, length: number): number {
  return readHeader(positions, length).nValues;
}

/** Rebuilds the dense tensor (same array type as `values`). */
export function decodeSparse<T extends Float32Array | Int32Array>(positions: Uint8Array, values: T, length: number): T {
  const what = 'sparse positions';
  const h = readHeader(positions, length);
  if (values.length !== h.nValues) throw new ModelpressError('E_CORRUPT', `${what}: ${h.nValues} values expected, ${values.length} given`);
  const src = bitsView(values);
  const out = new Int32Array(length);
  const r = h.reader;
  if (h.layout === 'dense') {
    out.set(src);
  } else if (h.layout === 'gap') {
    const gaps = decodeHuffman(positions.subarray(r.pos), h.nValues);
    let p = -1;
    for (let k = 0; k < h.nValues; k++) {
      p += gaps[k]! + 1;
      if (p >= length) throw new ModelpressError('E_CORRUPT', `${what}: gap ${k} points past element ${length - 1}`);
      out[p] = src[k]!;
    }
  } else if (h.layout === 'bitmask') {
    const mode = r.u8();
    let k = 0;
    if (mode === 0) {
      const br = new BitReader(positions, what, r.pos);
      for (let i = 0; i < length; i++)
        if (br.readBit()) {
          if (k >= h.nValues) throw new ModelpressError('E_CORRUPT', `${what}: mask has more than ${h.nValues} set bits`);
          out[i] = src[k++]!;
        }
    } else if (mode === 1) {
      const dec = new BinaryDecoder(positions, what, r.pos);
      const probs = newContexts(1 << MASK_CONTEXT_BITS);
      let ctx = 0;
      for (let i = 0; i < length; i++) {
        const bit = dec.decodeBit(probs, ctx);
        ctx = ((ctx << 1) | bit) & ((1 << MASK_CONTEXT_BITS) - 1);
        if (bit) {
          if (k >= h.nValues) throw new ModelpressError('E_CORRUPT', `${what}: mask has more than ${h.nValues} set bits`);
          out[i] = src[k++]!;
        }
      }
      dec.checkEnd();
    } else throw new ModelpressError('E_CORRUPT', `${what}: unknown bitmask mode ${mode}`);
    if (k !== h.nValues) throw new ModelpressError('E_CORRUPT', `${what}: mask has ${k} set bits, ${h.nValues} declared`);
  } else {
    const rows = h.rows;
    const cols = rows > 0 ? length / rows : 0;
    const counts: number[] = [];
    let total = 0;
    for (let row = 0; row < rows; row++) {
      const c = r.varuint();
      total += c;
      if (c > cols || total > h.nValues) throw new ModelpressError('E_CORRUPT', `${what}: row ${row} count ${c} is inconsistent`);
      counts.push(c);
    }
    if (total !== h.nValues) throw new ModelpressError('E_CORRUPT', `${what}: row counts sum to ${total}, ${h.nValues} declared`);
    const colBits = bitsFor(cols);
    const br = new BitReader(positions, what, r.pos);
    let k = 0;
    for (let row = 0; row < rows; row++) {
      let last = -1;
      for (let j = 0; j < counts[row]!; j++) {
        const c = br.readBits(colBits);
        if (c <= last || c >= cols) throw new ModelpressError('E_CORRUPT', `${what}: column ${c} in row ${row} is out of order or range`);
        last = c;
        out[row * cols + c] = src[k++]!;
      }
    }
  }
  return makeLike(values, out);
}
