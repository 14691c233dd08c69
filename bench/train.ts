/**
 * bench/train: training speed of the ONNX training engine (onnxruntime-node)
 * against TensorFlow.js (tfjs-core ops + tf.train.adam) on its `wasm` and
 * `cpu` backends, for LeNet-300-100 and LeNet-5 on Fashion-MNIST, batch 64,
 * Adam lr 1e-3. Each run is a child process (so its peak RSS is its own);
 * a fixed number of batches is timed after a warm-up and extrapolated to
 * one epoch (60,000 examples = 938 batches). `modelpress-1t` runs onnxruntime
 * with one intra-op thread: tfjs-wasm in Node is single-threaded.
 *
 *   npx tsx bench/train.ts [--batches 100] [--cpu-batches 20] [--arch lenet-300-100,lenet-5]
 *   npx tsx bench/train.ts --accuracy     # full training runs: test accuracy + s/epoch
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as ortNode from 'onnxruntime-node';
import { loadFashionMnist } from '../src/node/datasets.js';
import { createNodeRunner } from '../src/node/ort-runner.js';
import { evaluateModel, train } from '../src/train/trainer.js';
import { floatView, sampleCount, splitHoldout } from '../src/data/dataset.js';
import { trainingImages } from '../src/eval/datasets/dataset.js';
import { createRng } from '../src/core/random.js';
import { parseLrSchedule } from '../src/train/schedules.js';
import { buildZooModel } from '../src/train/zoo/index.js';

const openRunner = createNodeRunner;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BATCH = 64;
const BATCHES_PER_EPOCH = Math.ceil(60000 / BATCH);

type Arch = 'lenet-300-100' | 'lenet-5';
type Engine = 'modelpress' | 'modelpress-1t' | 'tfjs-wasm' | 'tfjs-cpu';
interface WorkerJob {
  engine: Engine;
  arch: Arch;
  batches: number;
  warmup: number;
  bundle?: string;
}
interface WorkerResult {
  secondsPerBatch: number;
  lastLoss: number;
  maxRssMB: number;
  note?: string;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

function trainData() {
  return trainingImages(loadFashionMnist({ split: 'train' }), 'fashion-mnist:train');
}

async function worker(job: WorkerJob): Promise<WorkerResult> {
  const data = trainData();
  let result: { secondsPerBatch: number; lastLoss: number; note?: string };
  if (job.engine === 'modelpress' || job.engine === 'modelpress-1t') {
    // Epoch 1 is the warm-up (session creation excluded by the trainer's timer, first-run costs included); epoch 2 is timed.
    const r = await train({
      openRunner,
      model: buildZooModel(job.arch, { seed: 0 }),
      train: data,
      epochs: 2,
      batchSize: BATCH,
      seed: 0,
      maxStepsPerEpoch: job.batches,
      restoreBest: false,
      ...(job.engine === 'modelpress-1t' ? { sessionOptions: { intraOpNumThreads: 1 } } : {}),
    });
    const timed = r.history[1]!;
    result = { secondsPerBatch: timed.seconds / job.batches, lastLoss: timed.trainLoss };
  } else {
    const mod = (await import(pathToFileURL(job.bundle!).href)) as typeof import('./train-tfjs.js');
    const r = await mod.runTfjs({
      backend: job.engine === 'tfjs-wasm' ? 'wasm' : 'cpu',
      arch: job.arch,
      batches: job.batches,
      warmup: job.warmup,
      batchSize: BATCH,
      images: floatView(data).inputs,
      labels: data.y!,
      seed: 0,
      wasmDir: join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/'),
    });
    result = {
      secondsPerBatch: r.secondsPerBatch,
      lastLoss: r.lastLoss,
      ...(r.composedConvFilterGrad ? { note: 'tfjs conv gradients via forward Conv2D' } : {}),
    };
  }
  return { ...result, maxRssMB: process.resourceUsage().maxRSS / 1024 };
}

function runChild(job: WorkerJob): WorkerResult {
  const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', JSON.stringify(job)], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`${job.engine} ${job.arch} failed (exit ${child.status}):\n${child.stderr.slice(-3000)}`);
  return JSON.parse(line.slice(7)) as WorkerResult;
}

async function bundleTfjs(dir: string): Promise<string> {
  const { build } = await import('esbuild');
  const out = join(dir, 'train-tfjs.mjs');
  await build({
    entryPoints: [join(ROOT, 'bench/train-tfjs.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: out,
    ignoreAnnotations: true, // tfjs backends register themselves as a side effect their package.json hides
    logLevel: 'error',
    banner: {
      js: "import { createRequire } from 'node:module'; import { fileURLToPath as __toPath } from 'node:url'; import { dirname as __dirOf } from 'node:path'; const require = createRequire(import.meta.url); const __filename = __toPath(import.meta.url); const __dirname = __dirOf(__filename);",
    },
  });
  return out;
}

async function speed(): Promise<void> {
  const batches = Number(arg('--batches', '100'));
  const cpuBatches = Number(arg('--cpu-batches', '20'));
  const archs = arg('--arch', 'lenet-300-100,lenet-5').split(',') as Arch[];
  const dir = mkdtempSync(join(tmpdir(), 'modelpress-bench-'));
  try {
    const bundle = await bundleTfjs(dir);
    console.log(
      `bench/train: Fashion-MNIST, batch ${BATCH}, Adam lr 1e-3; s/epoch = s/batch x ${BATCHES_PER_EPOCH}; node ${process.version}, onnxruntime-node ${(ortNode as unknown as { env: { versions: { node?: string } } }).env.versions.node ?? '?'}`,
    );
    console.log('arch            engine        batches  s/batch   s/epoch  vs modelpress  peak RSS MB  last loss');
    const rows: Record<string, unknown>[] = [];
    for (const arch of archs) {
      const ours = runChild({ engine: 'modelpress', arch, batches, warmup: 0 });
      const print = (engine: Engine, n: number, r: WorkerResult): void => {
        const ratio = r.secondsPerBatch / ours.secondsPerBatch;
        console.log(
          `${arch.padEnd(15)} ${engine.padEnd(13)} ${String(n).padStart(7)} ${r.secondsPerBatch.toFixed(4).padStart(8)} ${(r.secondsPerBatch * BATCHES_PER_EPOCH).toFixed(1).padStart(9)} ${(engine === 'modelpress' ? '1.00x' : `${ratio.toFixed(2)}x ${ratio >= 1 ? 'slower' : 'faster'}`).padStart(14)} ${r.maxRssMB.toFixed(0).padStart(12)} ${r.lastLoss.toFixed(3).padStart(10)}${r.note ? `  (${r.note})` : ''}`,
        );
        rows.push({
          arch,
          engine,
          batches: n,
          secondsPerBatch: r.secondsPerBatch,
          secondsPerEpoch: r.secondsPerBatch * BATCHES_PER_EPOCH,
          ratioVsModelpress: ratio,
          peakRssMB: r.maxRssMB,
        });
      };
      print('modelpress', batches, ours);
      print('modelpress-1t', batches, runChild({ engine: 'modelpress-1t', arch, batches, warmup: 0 }));
      print('tfjs-wasm', batches, runChild({ engine: 'tfjs-wasm', arch, batches, warmup: 5, bundle }));
      if (cpuBatches > 0) print('tfjs-cpu', cpuBatches, runChild({ engine: 'tfjs-cpu', arch, batches: cpuBatches, warmup: 2, bundle }));
    }
    if (process.argv.includes('--json')) console.log(JSON.stringify(rows, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The accuracy claims: full runs with the settings in docs and the report. */
async function accuracy(): Promise<void> {
  const runs: { arch: Arch; epochs: number; lr: number; batchSize: number }[] = [
    { arch: 'lenet-300-100', epochs: Number(arg('--epochs-300', '12')), lr: 1e-3, batchSize: 64 },
    { arch: 'lenet-5', epochs: Number(arg('--epochs-5', '8')), lr: 1e-3, batchSize: 64 },
  ];
  const seed = Number(arg('--seed', '0'));
  const schedule = arg('--lr-schedule', 'cosine');
  const only = arg('--arch', 'lenet-300-100,lenet-5').split(',');
  const all = trainData();
  const test = trainingImages(loadFashionMnist({ split: 'test' }), 'fashion-mnist:test');
  const { train: trainSplit, holdout } = splitHoldout(all, 5000, createRng(seed ^ 0x6a09e667));
  for (const run of runs.filter((x) => only.includes(x.arch))) {
    const r = await train({
      openRunner,
      model: buildZooModel(run.arch, { seed }),
      train: trainSplit,
      validation: holdout,
      epochs: run.epochs,
      batchSize: run.batchSize,
      seed,
      optimizer: {
        name: 'adam',
        lr: run.lr,
        schedule: parseLrSchedule(schedule, Math.ceil(sampleCount(trainSplit) / run.batchSize), run.epochs),
      },
      onProgress: (e) => {
        if (e.kind === 'epoch')
          console.error(
            `  ${run.arch} epoch ${e.record.epoch}: loss ${e.record.trainLoss.toFixed(4)} val ${(e.record.validation!.accuracy * 100).toFixed(2)}% ${e.record.seconds.toFixed(1)} s`,
          );
      },
    });
    const t = await evaluateModel(openRunner, r.model, test);
    const sPerEpoch = r.history.reduce((a, h) => a + h.seconds, 0) / r.history.length;
    console.log(
      `${run.arch}: test accuracy ${(t.accuracy * 100).toFixed(2)}% after ${run.epochs} epochs (best epoch ${r.bestEpoch} by validation), seed ${seed}, Adam lr ${run.lr} ${schedule}, batch ${run.batchSize}, 55k train / 5k validation; ${sPerEpoch.toFixed(2)} s/epoch; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
    );
  }
}

const workerIndex = process.argv.indexOf('--worker');
if (workerIndex >= 0) {
  const result = await worker(JSON.parse(process.argv[workerIndex + 1]!) as WorkerJob);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
} else if (process.argv.includes('--accuracy')) {
  await accuracy();
} else {
  await speed();
}
