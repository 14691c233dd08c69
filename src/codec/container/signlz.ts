/**
 * sign+LZ coding of float32 chunks (coder 9, "signlz-f32"): for tensors whose
 * magnitudes repeat in long runs with varying signs (e.g. the STFT basis in
 * silero_vad: w[n]·cos(2πkn/N), where whole rows recur up to sign), which
 * neither byte planes nor an order-0 codebook can see.
 *
 * The chunk's n elements are split into a sign bit plane and 31-bit
 * magnitudes; the magnitudes are parsed greedily into LZ77 tokens
 * (literal run, match length, distance) over whole elements; literal
 * magnitudes go to floatplanes or to a codebook with Huffman indices.
 *
 * Chunk layout (all varuint unless stated):
 *   signLen, sign section  (encodeBytes of ceil(n/8) bytes of sign bits, LSB first)
 *   tokens T
 *   runLen,  cabac(T literal-run lengths)
 *   lenLen,  cabac(T match lengths; 0 only when the distance is 0)
 *   distLen, cabac(T distances; 0 = no match)
 *   u8 literal mode: 0 = floatplanes-f32 of the literal magnitudes (rest of chunk);
 *                    1, 2 = varuint K, varuint len + cabac of the K ascending entries' gaps,
 *                           then (rest of chunk) the indices: 1 = Huffman, 2 = cabac of index differences
 */
import { fail } from '../../core/errors.js';
import { ByteReader, ByteWriter } from '../bytes.js';
import { decodeBytes, encodeBytes } from '../bytecoder.js';
import { decodeIntsCabac, encodeIntsCabac } from '../cabac.js';
import { decodeFloats, encodeFloats } from '../floatplanes.js';
import { decodeHuffman, encodeHuffman, MAX_CODED_SYMBOLS } from '../huffman.js';

const MIN_MATCH = 4;
const HASH_BITS = 16;
const MAX_CHAIN = 48;

function u32View(bytes: Uint8Array): Uint32Array {
  const a = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Uint32Array(a.buffer, a.byteOffset, a.length >> 2);
}

interface Parse {
  runs: number[];
  lens: number[];
  dists: number[];
  literals: number[];
  matched: number;
}

/** Greedy LZ77 over whole elements with hash chains on 3-element prefixes. */
function parseLz(m: Uint32Array): Parse {
  const n = m.length;
  const head = new Int32Array(1 << HASH_BITS).fill(-1);
  const prev = new Int32Array(n);
  const hash = (i: number): number =>
    Math.imul(m[i]! ^ Math.imul(m[i + 1]!, 0x9e3779b1) ^ Math.imul(m[i + 2]!, 0x85ebca6b), 0x27d4eb2f) >>> (32 - HASH_BITS);
  const insert = (i: number): void => {
    if (i + 2 >= n) return;
    const h = hash(i);
    prev[i] = head[h]!;
    head[h] = i;
  };
  const out: Parse = { runs: [], lens: [], dists: [], literals: [], matched: 0 };
  let run = 0;
  let i = 0;
  while (i < n) {
    let bestLen = 0;
    let bestDist = 0;
    if (i + MIN_MATCH <= n) {
      let c = head[hash(i)]!;
      for (let depth = 0; c >= 0 && depth < MAX_CHAIN; depth++, c = prev[c]!) {
        if (m[c + bestLen] !== m[i + bestLen] || m[c] !== m[i]) continue;
        let len = 0;
        while (i + len < n && m[c + len] === m[i + len]) len++;
        if (len > bestLen) {
          bestLen = len;
          bestDist = i - c;
          if (i + len === n) break;
        }
      }
    }
    if (bestLen >= MIN_MATCH) {
      out.runs.push(run);
      out.lens.push(bestLen);
      out.dists.push(bestDist);
      out.matched += bestLen;
      run = 0;
      for (let k = 0; k < bestLen; k++) insert(i + k);
      i += bestLen;
    } else {
      out.literals.push(m[i]!);
      run++;
      insert(i);
      i++;
    }
  }
  out.runs.push(run);
  out.lens.push(0);
  out.dists.push(0);
  return out;
}

function section(w: ByteWriter, bytes: Uint8Array): void {
  w.varuint(bytes.length);
  w.bytes(bytes);
}

/** Ascending u32 entries as cabac-coded gaps (first entry as its own gap from 0). */
function entryGaps(entries: readonly number[]): Uint8Array {
  const gaps = new Int32Array(entries.length);
  let prev = 0;
  entries.forEach((v, k) => {
    // magnitudes are < 2^31, so gaps fit int32
    gaps[k] = v - prev;
    prev = v;
  });
  return encodeIntsCabac(gaps);
}

function literalSection(literals: number[]): Uint8Array {
  const mags = Uint32Array.from(literals);
  const fp = encodeFloats(new Uint8Array(mags.buffer), 'float32');
  let best: Uint8Array = new Uint8Array(1 + fp.length);
  best[0] = 0;
  best.set(fp, 1);
  const slot = new Map<number, number>();
  for (const v of mags) if (!slot.has(v)) slot.set(v, 0);
  if (slot.size <= 65536 && slot.size * 2 <= mags.length) {
    const entries = [...slot.keys()].sort((a, b) => a - b);
    entries.forEach((v, k) => slot.set(v, k));
    const idx = entries.length <= 256 ? new Uint8Array(mags.length) : new Uint16Array(mags.length);
    const deltas = new Int32Array(mags.length);
    let prev = 0;
    for (let k = 0; k < mags.length; k++) {
      const j = slot.get(mags[k]!)!;
      idx[k] = j;
      deltas[k] = j - prev;
      prev = j;
    }
    const gaps = entryGaps(entries);
    // mode 1: order-0 Huffman of the indices; mode 2: cabac of index differences (smooth rows)
    // (Huffman codes at most 2^15 distinct indices: beyond it only mode 2 is tried)
    const modes: [number, Uint8Array][] = [[2, encodeIntsCabac(deltas)]];
    if (entries.length <= MAX_CODED_SYMBOLS) modes.unshift([1, encodeHuffman(idx, entries.length)]);
    for (const [mode, body] of modes) {
      const w = new ByteWriter(gaps.length + body.length + 16);
      w.u8(mode);
      w.varuint(entries.length);
      section(w, gaps);
      w.bytes(body);
      const cb = w.finish();
      if (cb.length < best.length) best = cb;
    }
  }
  return best;
}

export interface SignLzOptions {
  /** Skip (return undefined) when matches cover less than this fraction of the elements. Default 0.15. */
  readonly minCoverage?: number;
}

/** Encodes float32 bytes; undefined when the magnitudes do not repeat enough for LZ to pay. */
export function encodeSignLz(bytes: Uint8Array, opts: SignLzOptions = {}): Uint8Array | undefined {
  if (bytes.length % 4 !== 0) fail('E_ARG', `signlz: ${bytes.length} bytes is not whole float32 elements`);
  const v = u32View(bytes);
  const n = v.length;
  const mags = new Uint32Array(n);
  const signs = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    mags[i] = x & 0x7fffffff;
    if (x >>> 31) signs[i >> 3]! |= 1 << (i & 7);
  }
  const p = parseLz(mags);
  if (p.matched < n * (opts.minCoverage ?? 0.15)) return undefined;
  const w = new ByteWriter(bytes.length >> 1);
  section(w, encodeBytes(signs));
  w.varuint(p.runs.length);
  section(w, encodeIntsCabac(Int32Array.from(p.runs)));
  section(w, encodeIntsCabac(Int32Array.from(p.lens)));
  section(w, encodeIntsCabac(Int32Array.from(p.dists)));
  w.bytes(literalSection(p.literals));
  return w.finish();
}

/** Decodes a signlz chunk to `byteLength` bytes of float32; every count and distance is validated. */
export function decodeSignLz(encoded: Uint8Array, byteLength: number): Uint8Array {
  if (byteLength % 4 !== 0) fail('E_CORRUPT', `signlz: ${byteLength} bytes is not whole float32 elements`);
  const n = byteLength / 4;
  const r = new ByteReader(encoded, 'signlz chunk');
  const signs = decodeBytes(r.bytesView(r.varuint()), (n + 7) >> 3);
  const t = r.varuint();
  if (t < 1 || t > n + 1) fail('E_CORRUPT', `signlz: ${t} tokens for ${n} elements`);
  const runs = decodeIntsCabac(r.bytesView(r.varuint()), t);
  const lens = decodeIntsCabac(r.bytesView(r.varuint()), t);
  const dists = decodeIntsCabac(r.bytesView(r.varuint()), t);
  let literalCount = 0;
  for (let k = 0; k < t; k++) {
    if (runs[k]! < 0 || lens[k]! < 0 || dists[k]! < 0) fail('E_CORRUPT', `signlz: negative token field at token ${k}`);
    literalCount += runs[k]!;
  }
  if (literalCount > n) fail('E_CORRUPT', `signlz: ${literalCount} literals for ${n} elements`);
  const mode = r.u8();
  let literals: Uint32Array;
  if (mode === 0) literals = u32View(decodeFloats(r.bytesView(r.remaining), 'float32', literalCount * 4));
  else if (mode === 1 || mode === 2) {
    const k = r.varuint();
    if (k < 1 || k > 65536) fail('E_CORRUPT', `signlz: literal codebook size ${k}`);
    const gaps = decodeIntsCabac(r.bytesView(r.varuint()), k);
    const entries = new Uint32Array(k);
    let v = 0;
    for (let j = 0; j < k; j++) {
      v += gaps[j]!;
      if (v < 0 || v > 0x7fffffff || (j > 0 && gaps[j]! <= 0))
        fail('E_CORRUPT', `signlz: literal codebook entry ${j} is not ascending within 0..2^31-1`);
      entries[j] = v;
    }
    literals = new Uint32Array(literalCount);
    const body = r.bytesView(r.remaining);
    if (mode === 1) {
      const idx = decodeHuffman(body, literalCount);
      for (let i = 0; i < literalCount; i++) {
        const j = idx[i]!;
        if (j >= k) fail('E_CORRUPT', `signlz: literal index ${j} >= ${k}`);
        literals[i] = entries[j]!;
      }
    } else {
      const deltas = decodeIntsCabac(body, literalCount);
      let j = 0;
      for (let i = 0; i < literalCount; i++) {
        j += deltas[i]!;
        if (j < 0 || j >= k) fail('E_CORRUPT', `signlz: literal index ${j} outside 0..${k - 1}`);
        literals[i] = entries[j]!;
      }
    }
  } else return fail('E_CORRUPT', `signlz: unknown literal mode ${mode}`);
  if (literals.length !== literalCount) fail('E_CORRUPT', 'signlz: literal count mismatch');
  const out = new Uint32Array(n);
  let pos = 0;
  let lit = 0;
  for (let k = 0; k < t; k++) {
    const run = runs[k]!;
    const len = lens[k]!;
    const dist = dists[k]!;
    if (pos + run + len > n) fail('E_CORRUPT', `signlz: token ${k} runs past ${n} elements`);
    for (let j = 0; j < run; j++) out[pos++] = literals[lit++]!;
    if ((len === 0) !== (dist === 0) || dist > pos)
      fail('E_CORRUPT', `signlz: token ${k} has match length ${len} at distance ${dist} from element ${pos}`);
    for (let j = 0; j < len; j++, pos++) out[pos] = out[pos - dist]!;
  }
  if (pos !== n) fail('E_CORRUPT', `signlz: tokens produce ${pos} elements, expected ${n}`);
  for (let i = 0; i < n; i++) if ((signs[i >> 3]! >> (i & 7)) & 1) out[i] = (out[i]! | 0x80000000) >>> 0;
  return new Uint8Array(out.buffer);
}
