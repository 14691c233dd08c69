/**
 * bench/compress: the "Must hold" experiments of train-time compression on
 * Fashion-MNIST (full 60k train / 10k test), with epochs and seeds printed:
 *
 *  - qat:      float model -> PTQ int8 (static QDQ, 512 calibration images)
 *              vs QAT int8; PTQ int4 (blocks of 32) vs QAT int4. Control row:
 *              the float model fine-tuned for the same epochs, then PTQ, so
 *              the gain of QAT is not just extra training.
 *  - distill:  teacher LeNet-5 (trained on all 60k) -> student mlp-128
 *              (784-128-10, 4.3x fewer parameters) on a 2,000-image subset by
 *              KD vs the same student on labels alone, same epochs and seed, per seed.
 *  - cluster:  Deep Compression on LeNet-300-100 / LeNet-5: magnitude-prune each
 *              layer (93/90/70%: 92.6% overall; LeNet-5 34/88/92/81% as Deep Compression) with
 *              masked fine-tuning, then k-means 8 bits (conv) / 5 bits (fc) with
 *              centroid fine-tuning; accuracy against the unpruned model.
 *
 *   npx tsx bench/compress.ts [--only qat,distill,cluster] [--arch lenet-300-100]
 *        [--float-epochs 8] [--qat-epochs 2] [--seeds 0,1,2] [--teacher-epochs 3]
 *        [--kd-student mlp-128] [--kd-train 2000] [--kd-epochs 20] [--temperature 2] [--alpha 0.5]
 *        [--rates <per layer>] [--prune-epochs 6] [--cluster-epochs 2] [--block-size 32]
 *        [--cache /tmp/modelpress-bench-compress]   (trained float models are reused from here)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { ptqBaseline } from '../src/compress/qat.js';
import { clusterModel } from '../src/compress/cluster.js';
import { distill } from '../src/compress/distill.js';
import { compressibleLayers } from '../src/compress/layers.js';
import { quantizationAwareTraining } from '../src/compress/qat.js';
import { magnitudePrune } from '../src/compress/sensitivity.js';
import { buildStudent } from '../src/compress/students.js';
import { cloneModel, getInitializerValues, setInitializerValues } from '../src/graph/model-edit.js';
import { loadFashionMnist } from '../src/node/datasets.js';
import { createNodeRunner } from '../src/node/ort-runner.js';
import { evaluateModel, train } from '../src/train/trainer.js';
import { limitSamples } from '../src/data/dataset.js';
import { trainingImages } from '../src/eval/datasets/dataset.js';
import { buildZooModel } from '../src/train/zoo/index.js';

const openRunner = createNodeRunner;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const only = arg('--only', 'qat,distill,cluster').split(',');
const cacheDir = arg('--cache', '/tmp/modelpress-bench-compress');
const floatEpochs = Number(arg('--float-epochs', '8'));
const qatEpochs = Number(arg('--qat-epochs', '2'));
const seeds = arg('--seeds', '0,1,2').split(',').map(Number);
const archs = arg('--arch', 'lenet-300-100').split(',');

const trainSet = trainingImages(loadFashionMnist({ split: 'train' }), 'fashion-mnist:train');
const testSet = trainingImages(loadFashionMnist({ split: 'test' }), 'fashion-mnist:test');
const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const acc = async (m: ModelProto): Promise<number> => (await evaluateModel(openRunner, m, testSet)).accuracy;

/** A zoo model trained from scratch (Adam 1e-3, batch 64, seed 0), cached on disk by arch and epochs. */
async function floatModel(arch: string, epochs: number): Promise<ModelProto> {
  mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, `${arch}-e${epochs}-s0.onnx`);
  if (existsSync(path)) return fromBinary(ModelProtoSchema, readFileSync(path));
  const t0 = Date.now();
  const r = await train({ openRunner, model: buildZooModel(arch, { seed: 0 }), train: trainSet, epochs, seed: 0, restoreBest: false });
  writeFileSync(path, toBinary(ModelProtoSchema, r.model));
  console.error(`  trained ${arch} for ${epochs} epochs in ${((Date.now() - t0) / 1000).toFixed(0)} s -> ${path}`);
  return r.model;
}

async function benchQat(arch: string): Promise<void> {
  const epochs = arch === 'lenet-5' ? Number(arg('--teacher-epochs', '3')) : floatEpochs;
  const blockSize = Number(arg('--block-size', '32'));
  const model = await floatModel(arch, epochs);
  const base = await acc(model);
  console.log(
    `\nqat: ${arch} trained ${epochs} epochs (seed 0): float test accuracy ${pct(base)}; QAT ${qatEpochs} epoch(s), Adam lr 1e-4, batch 64, seed 0, EMA decay 0.99; int4 blocks of ${blockSize}`,
  );
  // control: the same extra epochs in float, then PTQ
  const tuned = (
    await train({
      openRunner,
      model,
      train: trainSet,
      epochs: qatEpochs,
      seed: 0,
      optimizer: { name: 'adam', lr: 1e-4 },
      restoreBest: false,
    })
  ).model;
  console.log(`  float fine-tuned ${qatEpochs} epoch(s) (control): ${pct(await acc(tuned))}`);
  console.log('  scheme  PTQ       PTQ after float fine-tune  QAT       QAT - PTQ');
  for (const scheme of ['int8', 'int4'] as const) {
    const ptq = await acc(await ptqBaseline(model, scheme, trainSet, { openRunner: createNodeRunner, blockSize, calibSize: 512 }));
    const ptqTuned = await acc(await ptqBaseline(tuned, scheme, trainSet, { openRunner: createNodeRunner, blockSize, calibSize: 512 }));
    const t0 = Date.now();
    const q = await quantizationAwareTraining({ openRunner, model, train: trainSet, scheme, epochs: qatEpochs, seed: 0, blockSize });
    const qat = await acc(q.model);
    console.log(
      `  ${scheme.padEnd(6)}  ${pct(ptq).padEnd(8)}  ${pct(ptqTuned).padEnd(25)}  ${pct(qat).padEnd(8)}  ${((qat - ptq) * 100 >= 0 ? '+' : '') + ((qat - ptq) * 100).toFixed(2)} pts   (QAT ${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    );
  }
}

async function benchDistill(): Promise<void> {
  const teacherEpochs = Number(arg('--teacher-epochs', '3'));
  const teacher = await floatModel('lenet-5', teacherEpochs);
  const student = arg('--kd-student', 'mlp-128');
  const count = Number(arg('--kd-train', '2000'));
  const epochs = Number(arg('--kd-epochs', '20'));
  const T = Number(arg('--temperature', '2'));
  const alpha = Number(arg('--alpha', '0.5'));
  const data = limitSamples(trainSet, count);
  console.log(
    `\ndistill: teacher lenet-5 (${teacherEpochs} epochs on 60k, seed 0) test accuracy ${pct(await acc(teacher))}; student ${student} on the first ${count} training images, ${epochs} epochs, Adam lr 1e-3, batch 64, T ${T}, alpha ${alpha}`,
  );
  console.log('  seed  labels only  distilled  gain');
  let sumGain = 0;
  for (const seed of seeds) {
    const labels = await acc(
      (await train({ openRunner, model: buildStudent(student, seed), train: data, epochs, seed, restoreBest: false })).model,
    );
    const kd = await distill({
      openRunner,
      teacher,
      student: buildStudent(student, seed),
      train: data,
      epochs,
      seed,
      temperature: T,
      alpha,
    });
    const distilled = await acc(kd.model);
    sumGain += distilled - labels;
    console.log(
      `  ${String(seed).padEnd(4)}  ${pct(labels).padEnd(11)}  ${pct(distilled).padEnd(9)}  ${((distilled - labels) * 100 >= 0 ? '+' : '') + ((distilled - labels) * 100).toFixed(2)} pts`,
    );
  }
  console.log(`  mean gain over ${seeds.length} seeds: ${((sumGain / seeds.length) * 100).toFixed(2)} pts`);
}

/** Per-layer pruning rates: LeNet-5 as Deep Compression (Han et al. 2016, Table 3); LeNet-300-100 a little above its 92/91/74% so that >= 92% of all weights go. */
const DEEP_COMPRESSION_RATES: Record<string, string> = { 'lenet-300-100': '0.93,0.9,0.7', 'lenet-5': '0.34,0.88,0.92,0.81' };

async function benchCluster(arch: string): Promise<void> {
  const epochs = arch === 'lenet-5' ? Number(arg('--teacher-epochs', '3')) : floatEpochs;
  const model = await floatModel(arch, epochs);
  const base = await acc(model);
  const rates = arg('--rates', DEEP_COMPRESSION_RATES[arch] ?? '0.9')
    .split(',')
    .map(Number);
  const pruneEpochs = Number(arg('--prune-epochs', '6'));
  const clusterEpochs = Number(arg('--cluster-epochs', '2'));
  const names = compressibleLayers(model).map((l) => l.name);
  const values = getInitializerValues(model, names);
  const pruned = cloneModel(model);
  const masks = new Map<string, Uint8Array>();
  const prunedValues = new Map(names.map((n, i) => [n, magnitudePrune(values.get(n)!, rates[i] ?? rates[rates.length - 1]!)]));
  let total = 0;
  let zeros = 0;
  for (const v of prunedValues.values()) {
    total += v.length;
    zeros += v.filter((x) => x === 0).length;
  }
  for (const [n, v] of prunedValues)
    masks.set(
      n,
      Uint8Array.from(v, (x) => (x === 0 ? 0 : 1)),
    );
  setInitializerValues(pruned, prunedValues);
  const prunedAcc = await acc(pruned);
  const tuned = (
    await train({
      openRunner,
      model: pruned,
      train: trainSet,
      epochs: pruneEpochs,
      seed: 0,
      masks,
      optimizer: { name: 'adam', lr: 5e-4 },
      restoreBest: false,
    })
  ).model;
  const tunedAcc = await acc(tuned);
  const c = await clusterModel(tuned, {
    openRunner,
    bits: 5,
    bitsConv: 8,
    bitsFc: 5,
    train: trainSet,
    test: testSet,
    epochs: clusterEpochs,
    optimizer: { name: 'adam', lr: 1e-4 },
  });
  const zerosKept = c.layers.every((l) => l.zeros === prunedValues.get(l.name)!.filter((x) => x === 0).length);
  console.log(
    `\ncluster: ${arch} (${epochs} epochs, seed 0) float ${pct(base)}; per-layer magnitude pruning (${rates.map((r) => `${r * 100}%`).join('/')}; ${((zeros / total) * 100).toFixed(1)}% of all weights) -> ${pct(prunedAcc)}, masked fine-tune ${pruneEpochs} epochs (Adam 5e-4) -> ${pct(tunedAcc)}`,
  );
  console.log(
    `  k-means 8 bits conv / 5 bits fc (linear init, zeros kept: ${zerosKept}) -> ${pct(c.accuracy!.clustered.accuracy)}, centroid fine-tune ${clusterEpochs} epoch(s) (Adam 1e-4) -> ${pct(c.accuracy!.finetuned!.accuracy)}; vs unpruned ${((c.accuracy!.finetuned!.accuracy - base) * 100).toFixed(2)} pts`,
  );
}

console.log(`bench/compress: Fashion-MNIST 60k/10k; node ${process.version}`);
if (only.includes('qat')) for (const a of archs) await benchQat(a);
if (only.includes('distill')) await benchDistill();
if (only.includes('cluster')) for (const a of archs) await benchCluster(a);
