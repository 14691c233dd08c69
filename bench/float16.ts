/**
 * bench/float16: bulk float32 <-> float16 / bfloat16 conversion speed in MB/s
 * (MB = 10^6 bytes of float32 input or output), next to two peers measured in
 * the same run:
 *  - "copy": Float32Array.set of the same data (the memory-bandwidth ceiling);
 *  - "naive": a per-element DataView implementation (getFloat32 + bit
 *    manipulation + setUint16), what one writes without bit tricks. Node 20
 *    has no Float16Array and no float16 package is installed, so this is the
 *    peer that exists here.
 * Run: npx tsx bench/float16.ts [elements, default 4M]
 */
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from '../src/core/float16.js';

const n = Number(process.argv[2] ?? 4_000_000);
const src = new Float32Array(n);
let seed = 12345;
for (let i = 0; i < n; i++) {
  seed = (seed * 1103515245 + 12345) >>> 0;
  src[i] = (seed / 2 ** 32 - 0.5) * 2 ** ((seed & 31) - 12); // weights-like: many magnitudes, both signs
}
const half = float32ToFloat16(src);
const bf = float32ToBfloat16(src);

/** Naive per-element float32 -> float16 through DataView, truncating rounding is NOT used: RNE by arithmetic. */
function naiveToF16(input: Float32Array): Uint16Array {
  const inView = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const out = new Uint16Array(input.length);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < input.length; i++) {
    const x = inView.getUint32(i * 4, true);
    const sign = (x >>> 16) & 0x8000;
    const v = Math.abs(inView.getFloat32(i * 4, true));
    let h: number;
    if (Number.isNaN(v)) h = 0x7e00;
    else if (v >= 65520) h = 0x7c00;
    else if (v < 2 ** -14)
      h = Math.round(v / 2 ** -24); // subnormal (ties away: the naive way)
    else {
      const e = Math.floor(Math.log2(v));
      const m = Math.round((v / 2 ** e - 1) * 1024);
      h = ((e + 15) << 10) + m;
    }
    outView.setUint16(i * 2, sign | h, true);
  }
  return out;
}

function naiveFromF16(input: Uint16Array): Float32Array {
  const inView = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const out = new Float32Array(input.length);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < input.length; i++) {
    const h = inView.getUint16(i * 2, true);
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    const v = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
    outView.setFloat32(i * 4, v, true);
  }
  return out;
}

function naiveToBf16(input: Float32Array): Uint16Array {
  const inView = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const out = new Uint16Array(input.length);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < input.length; i++) outView.setUint16(i * 2, inView.getUint32(i * 4, true) >>> 16, true); // truncation
  return out;
}

function naiveFromBf16(input: Uint16Array): Float32Array {
  const inView = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const out = new Float32Array(input.length);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < input.length; i++) outView.setUint32(i * 4, inView.getUint16(i * 2, true) << 16, true);
  return out;
}

/** Best-of-`reps` MB/s of `fn` processing `bytes` float32 bytes. */
function mbps(fn: () => unknown, bytes: number, reps = 5): number {
  fn(); // warm up
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return bytes / 1e6 / (best / 1000);
}

const bytes = n * 4;
const copyDst = new Float32Array(n);
const copy = mbps(() => copyDst.set(src), bytes);
const rows: [string, number, number][] = [
  ['f32 -> f16', mbps(() => float32ToFloat16(src, half), bytes), mbps(() => naiveToF16(src), bytes)],
  ['f16 -> f32', mbps(() => float16ToFloat32(half, copyDst), bytes), mbps(() => naiveFromF16(half), bytes)],
  ['f32 -> bf16', mbps(() => float32ToBfloat16(src, bf), bytes), mbps(() => naiveToBf16(src), bytes)],
  ['bf16 -> f32', mbps(() => bfloat16ToFloat32(bf, copyDst), bytes), mbps(() => naiveFromBf16(bf), bytes)],
];

console.log(
  `bench/float16: ${n.toLocaleString('en-US')} elements (${(bytes / 1e6).toFixed(1)} MB of float32), best of 5, Node ${process.version}`,
);
console.log(`peer "copy" Float32Array.set: ${copy.toFixed(0)} MB/s`);
console.log('conversion     modelpress MB/s   naive DataView MB/s   vs naive   vs copy');
for (const [name, ours, naive] of rows) {
  console.log(
    `${name.padEnd(14)} ${ours.toFixed(0).padStart(15)} ${naive.toFixed(0).padStart(21)} ${(ours / naive).toFixed(2).padStart(9)}x ${(ours / copy).toFixed(3).padStart(8)}x`,
  );
}
