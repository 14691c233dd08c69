/**
 * bench/energy: the energy-per-inference estimate (src/eval/energy.ts, the
 * default Horowitz 45 nm table) of PP-OCRv4 rec at its recognition input
 * x [1, 3, 48, 320] as float32, fp16 (convertFp16), int8 static QDQ
 * (quantizeStatic, 8 calibration batches of the rec fixture) and int4
 * (the 'int4' scheme: MatMul -> MatMulNBits, other weights int4
 * DequantizeLinear), side by side with ratios to float32. The same figures
 * come out of `modelpress eval <file> --shape x=1,3,48,320` for each file.
 *
 * Run: npx tsx bench/energy.ts [--json]
 */
import { estimateEnergy, type EnergyEstimate } from '../src/eval/energy.js';
import { readOnnx, writeOnnx } from '../src/formats/onnx/index.js';
import { convertFp16 } from '../src/quantize/fp16.js';
import { quantizeModel } from '../src/quantize/index.js';
import { quantizeStatic } from '../src/quantize/static/index.js';
import { FIXTURES, loadFixture, nodeRunner } from '../support/quantize-fixtures.js';

async function main(): Promise<void> {
  const model = readOnnx(loadFixture(FIXTURES.rec)).proto;
  const calibration = [0, 1, 2, 3, 4, 5, 6, 7].map((s) => FIXTURES.rec.feed(s));
  const variants: { name: string; bytes: Uint8Array }[] = [
    { name: 'float32', bytes: writeOnnx(model) },
    { name: 'fp16', bytes: writeOnnx((await convertFp16(model, { openRunner: nodeRunner })).model) },
    { name: 'int8 static QDQ', bytes: writeOnnx((await quantizeStatic(model, { calibration, openRunner: nodeRunner })).model) },
    { name: 'int4 (MatMulNBits + int4 DQ weights)', bytes: writeOnnx((await quantizeModel(model, 'int4', { blockSize: 32 })).model) },
  ];
  const shapes = { x: [1, 3, 48, 320] };
  const results: { name: string; bytes: number; e: EnergyEstimate }[] = variants.map((v) => ({
    name: v.name,
    bytes: v.bytes.byteLength,
    e: estimateEnergy(readOnnx(v.bytes).proto, { shapes }),
  }));
  if (process.argv.includes('--json')) {
    console.log(
      JSON.stringify(
        results.map(({ name, bytes, e: { layers: _l, ...e } }) => ({ name, bytes, ...e })),
        null,
        2,
      ),
    );
    return;
  }
  const base = results[0]!.e.totalUJ;
  console.log(`PP-OCRv4 rec, x [1,3,48,320], ${results[0]!.e.table}; energy per inference in µJ`);
  console.log('| model | file bytes | total µJ | compute µJ | memory µJ | vs float32 | MMACs by type | weights read |');
  console.log('|---|---:|---:|---:|---:|---:|---|---:|');
  for (const { name, bytes, e } of results) {
    const types = Object.entries(e.macsByType)
      .map(([t, m]) => `${t} ${(m / 1e6).toFixed(1)}`)
      .join(', ');
    console.log(
      `| ${name} | ${bytes.toLocaleString('en-US')} | ${e.totalUJ.toFixed(0)} | ${e.computeUJ.toFixed(0)} | ${e.memoryUJ.toFixed(0)} | ${(e.totalUJ / base).toFixed(3)} | ${types} | ${e.weightBytes.toLocaleString('en-US')} B |`,
    );
    if (e.notCounted.length) console.log(`  ${name}: not counted: ${e.notCounted.join(', ')}`);
  }
}

await main();
