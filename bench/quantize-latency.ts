/**
 * bench/quantize-latency: inference latency in onnxruntime-node of the
 * PP-OCRv4 rec model as float32, int8 dynamic (MatMulInteger/ConvInteger;
 * and MatMul only, which onnxruntime fuses to DynamicQuantizeMatMul),
 * int8 static (QDQ, fused to QLinearConv/QLinearMatMul at load), fp16, and
 * int4 (MatMulNBits, the lead's scheme via quantizeModel), printed as ratios
 * to float32 from the same run.
 *
 * One thread per session (intraOpNumThreads 1), graph optimization 'all',
 * input x [1, 3, 48, 320] (PP-OCR's recognition width). Sessions are timed
 * in interleaved rounds, so load from other jobs on the machine hits every
 * model alike; each figure is the median over rounds of the per-run wall
 * time, next to the process CPU time per run (user + system), which stays
 * meaningful when other jobs share the cores.
 *
 * Run: npx tsx bench/quantize-latency.ts [rounds=7] [runsPerRound=5]
 */
import * as ort from 'onnxruntime-node';
import { readOnnx, writeOnnx } from '../src/formats/onnx/index.js';
import { quantizeDynamic } from '../src/quantize/dynamic.js';
import { convertFp16 } from '../src/quantize/fp16.js';
import { quantizeStatic } from '../src/quantize/static/index.js';
import { FIXTURES, loadFixture, nodeRunner } from '../support/quantize-fixtures.js';

const rounds = Number(process.argv[2] ?? 7);
const runsPerRound = Number(process.argv[3] ?? 5);

function recInput(seed: number): Float32Array {
  const f = FIXTURES.rec.feed(seed).x!;
  // widen the 48x96 fixture input to 48x320 by tiling
  const src = f.data as Float32Array;
  const out = new Float32Array(3 * 48 * 320);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 48; y++) for (let x = 0; x < 320; x++) out[(c * 48 + y) * 320 + x] = src[(c * 48 + y) * 96 + (x % 96)]!;
  return out;
}

async function main(): Promise<void> {
  const bytes = loadFixture(FIXTURES.rec);
  const model = readOnnx(bytes).proto;
  const variants: { name: string; bytes: Uint8Array }[] = [{ name: 'float32', bytes }];
  variants.push({ name: 'int8 dynamic', bytes: writeOnnx(quantizeDynamic(model, {}).model) });
  variants.push({ name: 'int8 dynamic per-channel', bytes: writeOnnx(quantizeDynamic(model, { perChannel: true }).model) });
  variants.push({ name: 'int8 dynamic MatMul only', bytes: writeOnnx(quantizeDynamic(model, { ops: ['MatMul', 'Gemm'] }).model) });
  const calibration = [0, 1, 2, 3, 4, 5, 6, 7].map((s) => FIXTURES.rec.feed(s));
  variants.push({
    name: 'int8 static (QDQ)',
    bytes: writeOnnx((await quantizeStatic(model, { calibration, openRunner: nodeRunner })).model),
  });
  variants.push({ name: 'fp16', bytes: writeOnnx((await convertFp16(model, { openRunner: nodeRunner })).model) });
  try {
    const { quantizeModel } = await import('../src/quantize/index.js');
    variants.push({ name: 'int4 MatMulNBits', bytes: writeOnnx((await quantizeModel(model, 'int4', { blockSize: 32 })).model) });
  } catch (e) {
    console.log(`int4 left out: ${(e as Error).message.split('\n')[0]}`);
  }

  const sessions = await Promise.all(
    variants.map((v) =>
      ort.InferenceSession.create(v.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' }),
    ),
  );
  const feeds = { x: new ort.Tensor('float32', recInput(1), [1, 3, 48, 320]) };
  for (const s of sessions) for (let i = 0; i < 2; i++) await s.run(feeds); // warm-up
  const wall: number[][] = variants.map(() => []);
  const cpu: number[][] = variants.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let v = 0; v < variants.length; v++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < runsPerRound; i++) await sessions[v]!.run(feeds);
      const t1 = performance.now();
      const c1 = process.cpuUsage(c0);
      wall[v]!.push((t1 - t0) / runsPerRound);
      cpu[v]!.push((c1.user + c1.system) / 1000 / runsPerRound);
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const w0 = median(wall[0]!);
  const c0 = median(cpu[0]!);
  console.log(`PP-OCRv4 rec, x [1, 3, 48, 320], 1 thread, ${rounds} rounds x ${runsPerRound} runs, median per run`);
  console.log('model                       file MB   wall ms  x float32   cpu ms  x float32');
  variants.forEach((v, i) => {
    const w = median(wall[i]!);
    const c = median(cpu[i]!);
    console.log(
      `${v.name.padEnd(26)} ${(v.bytes.length / 1e6).toFixed(2).padStart(7)} ${w.toFixed(2).padStart(9)} ${(w / w0).toFixed(2).padStart(10)} ${c.toFixed(2).padStart(8)} ${(c / c0).toFixed(2).padStart(10)}`,
    );
  });
  for (const s of sessions) await s.release();
}

await main();
