/**
 * bench/eval: images/s of `evaluate()` (modelpress's eval loop: feeds,
 * preprocessing, Runner, argmax, metrics) over the 10k Fashion-MNIST test
 * images, next to a bare loop that calls onnxruntime-node directly on the
 * same model with the same batch size, in the same process. Rounds alternate
 * between the two (and which goes first) so machine noise hits both; it
 * prints the overhead by medians and by best rounds (noise only adds time,
 * so best rounds are the steadier figure on a shared machine).
 *
 *   npx tsx bench/eval.ts [--model class-mean|lenet-5|lenet-300-100] [--batch-size N] [--rounds 7]
 *
 * Without --batch-size it measures batch 64 (eval's default) and batch 1.
 * The default model is the nearest-class-mean Gemm (~30 µs per run, so any
 * per-run cost of ours shows at its largest); --model lenet-5 measures a
 * convolutional classifier of the zoo (untrained: speed does not depend on
 * the weights), whose run time is closer to what users evaluate.
 */
import * as ort from 'onnxruntime-node';
import { buildClassMeanModel, computeClassMeans } from '../src/eval/class-mean.js';
import { datasetFromImages } from '../src/eval/datasets/dataset.js';
import { evaluate } from '../src/eval/evaluate.js';
import { datasetSource } from '../src/eval/feeds.js';
import { writeOnnx } from '../src/formats/onnx/write.js';
import { loadFashionMnist } from '../src/node/datasets.js';
import { buildZooModel } from '../src/train/zoo/index.js';
import { createNodeRunner } from '../src/node/ort-runner.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const batchSizes = process.argv.includes('--batch-size') ? [flag('batch-size', 64)] : [64, 1];
const rounds = flag('rounds', 11);
const train = loadFashionMnist({ split: 'train' });
const test = loadFashionMnist({ split: 'test' });
const modelIndex = process.argv.indexOf('--model');
const modelName = modelIndex > 0 ? process.argv[modelIndex + 1]! : 'class-mean';
const zoo = modelName !== 'class-mean';
const model = zoo ? writeOnnx(buildZooModel(modelName)) : writeOnnx(buildClassMeanModel(computeClassMeans(train.images, train.labels, 10)));
const inputName = zoo ? 'input' : 'image';
const pixels = test.rows * test.cols;

const session = await ort.InferenceSession.create(model);
const runner = await createNodeRunner(model);
const dataset = datasetFromImages(test, 'fashion-mnist:test');

async function measure(batchSize: number): Promise<void> {
  // Bare loop: onnxruntime-node directly, the minimum any evaluation must do (convert, run, argmax).
  async function bareLoop(): Promise<number> {
    let correct = 0;
    for (let start = 0; start < test.count; start += batchSize) {
      const n = Math.min(batchSize, test.count - start);
      const src = test.images.subarray(start * pixels, (start + n) * pixels);
      const x = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) x[i] = src[i]! / 255;
      const dims = zoo ? [n, 1, test.rows, test.cols] : [n, test.rows, test.cols];
      const out = await session.run({ [inputName]: new ort.Tensor('float32', x, dims) });
      const logits = out.logits!.data as Float32Array;
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let c = 1; c < 10; c++) if (logits[i * 10 + c]! > logits[i * 10 + best]!) best = c;
        if (best === test.labels[start + i]) correct++;
      }
    }
    return correct / test.count;
  }

  async function modelpressEval(): Promise<number> {
    const source = datasetSource(dataset, runner.inputs);
    const result = await evaluate(runner, source, { batchSize, latency: false });
    return result.classification!.report!.accuracy;
  }

  type Timing = { ms: number; cpuMs: number; accuracy: number };
  async function timed(f: () => Promise<number>): Promise<Timing> {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const accuracy = await f();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000, accuracy };
  }

  // Warm both paths once (JIT, ORT allocations).
  await bareLoop();
  await modelpressEval();
  const bare: number[] = [];
  const ours: number[] = [];
  const bareCpu: number[] = [];
  const oursCpu: number[] = [];
  let accuracies = { bare: 0, ours: 0 };
  for (let r = 0; r < rounds; r++) {
    // Alternate which path goes first, so neither always inherits the other's garbage.
    let b: Timing;
    let o: Timing;
    if (r % 2 === 0) {
      b = await timed(bareLoop);
      o = await timed(modelpressEval);
    } else {
      o = await timed(modelpressEval);
      b = await timed(bareLoop);
    }
    bare.push(b.ms);
    ours.push(o.ms);
    bareCpu.push(b.cpuMs);
    oursCpu.push(o.cpuMs);
    accuracies = { bare: b.accuracy, ours: o.accuracy };
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  const min = (a: number[]) => Math.min(...a);
  const perSecond = (ms: number) => (test.count / ms) * 1000;
  console.log(
    `bench/eval: Fashion-MNIST test (${test.count} images), ${zoo ? `${modelName} (zoo, untrained)` : 'nearest-class-mean Gemm'} model, batch ${batchSize}, ${rounds} alternating rounds`,
  );
  console.log(`  ${''.padEnd(27)}  ${'median'.padStart(15)}  ${'best'.padStart(15)}`);
  console.log(
    `  bare onnxruntime-node loop : ${perSecond(median(bare)).toFixed(0).padStart(9)} img/s  ${perSecond(min(bare)).toFixed(0).padStart(9)} img/s   (accuracy ${(accuracies.bare * 100).toFixed(2)}%)`,
  );
  console.log(
    `  modelpress evaluate()      : ${perSecond(median(ours)).toFixed(0).padStart(9)} img/s  ${perSecond(min(ours)).toFixed(0).padStart(9)} img/s   (accuracy ${(accuracies.ours * 100).toFixed(2)}%)`,
  );
  console.log(
    `  overhead: ${((median(ours) / median(bare) - 1) * 100).toFixed(1)}% by median wall time, ${((min(ours) / min(bare) - 1) * 100).toFixed(1)}% by best rounds, ${((median(oursCpu) / median(bareCpu) - 1) * 100).toFixed(1)}% by median process CPU time (${median(oursCpu).toFixed(0)} vs ${median(bareCpu).toFixed(0)} ms) (target: within 10%)`,
  );
}

for (const b of batchSizes) await measure(b);
await runner.dispose();
await session.release();
