/**
 * Builds the byte-level LM fixture (npm run fixture:lm): the zoo transformer
 * (src/train/zoo/lm.ts) trained on the King James Bible (Debian's bible-kjv
 * text) with `trainLanguageModel`, seeded, so every machine rebuilds the same
 * model. Writes <out>.onnx and <out>.txt (command, config, steps, wall time,
 * held-out bits per byte on the text's contiguous last 10%, the same windows
 * the `.txt:test` data spec gives).
 *
 *   npm run fixture:lm -- [--text kjv.txt] [--out <dir>/byte-lm-quick] [--lr 3e-3]
 *                                 [--steps 1500] [--d-model 128] [--layers 2] [--context 128] [--batch 32]
 *
 * --out defaults to $MODELPRESS_FIXTURES_DIR/byte-lm-quick, else
 * ~/.cache/modelpress/fixtures/byte-lm-quick. Without --text it runs `bible "gen1:1-rev22:21"` (package bible-kjv) and
 * keeps the text next to the output as kjv.txt.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { tokenIds } from '../src/data/tokens.js';
import { loadDataSpec } from '../src/node/datasets.js';
import { createNodeRunner } from '../src/node/ort-runner.js';
import { writeOnnx } from '../src/formats/onnx/write.js';
import { trainLanguageModel, type TokenWindows } from '../src/train/lm-trainer.js';
import { transformerLm } from '../src/train/zoo/lm.js';

const args = process.argv.slice(2);
function arg(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}
const cacheDir = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
const out = arg('out', join(process.env.MODELPRESS_FIXTURES_DIR ?? join(cacheDir, 'modelpress', 'fixtures'), 'byte-lm-quick'));
const config = {
  dModel: Number(arg('d-model', '128')),
  layers: Number(arg('layers', '2')),
  heads: 4,
  context: Number(arg('context', '128')),
  seed: 0,
};
const steps = Number(arg('steps', '1500'));
const batchSize = Number(arg('batch', '32'));
const lr = Number(arg('lr', '3e-3'));
mkdirSync(dirname(out), { recursive: true });
let text = arg('text', '');
if (!text) {
  text = join(dirname(out), 'kjv.txt');
  if (!existsSync(text)) writeFileSync(text, execFileSync('bible', ['gen1:1-rev22:21'], { maxBuffer: 64 << 20 }));
}

async function windows(split: 'train' | 'test'): Promise<TokenWindows> {
  const ds = await loadDataSpec(`${text}:${split}`, { context: config.context });
  return { ids: tokenIds(ds.x, 256, text), count: ds.x.shape[0]!, length: ds.x.shape[1]! };
}
const train = await windows('train');
const heldOut = await windows('test');
const tty = process.stderr.isTTY;
const started = Date.now();
const result = await trainLanguageModel({
  openRunner: createNodeRunner,
  model: transformerLm(config),
  train,
  heldOut,
  steps,
  batchSize,
  lr,
  seed: 0,
  onProgress: (e) => {
    if (e.kind === 'eval') process.stderr.write(`${tty ? '\n' : ''}held-out ${(e.heldOut / Math.LN2).toFixed(3)} bits/byte\n`);
    else if (tty && (e.step % 10 === 0 || e.step === e.steps))
      process.stderr.write(`\rstep ${e.step}/${e.steps} loss ${(e.loss / Math.LN2).toFixed(3)} bits/byte`);
  },
});
const wall = (Date.now() - started) / 1000;
const bpb = result.heldOutLoss! / Math.LN2;
writeFileSync(`${out}.onnx`, writeOnnx(result.model));
const tail = result.losses.slice(-50);
const report = [
  `command: npx tsx scripts/lm-fixture.ts ${args.join(' ')}`.trim(),
  `text: ${text} (${train.count} train windows, ${heldOut.count} held-out windows = contiguous last 10%)`,
  `config: ${JSON.stringify(config)} (zoo transformerLm, vocab 256, mlp 4*d_model)`,
  `training: ${steps} steps, batch ${batchSize} windows of ${config.context} bytes, Adam lr ${lr} (warm-up then cosine to 10%), clip 1, seed 0`,
  `wall time: ${wall.toFixed(1)} s (training ${result.seconds.toFixed(1)} s)`,
  `train loss (mean of last ${tail.length} steps): ${(tail.reduce((a, b) => a + b, 0) / tail.length / Math.LN2).toFixed(4)} bits/byte`,
  `held-out: ${bpb.toFixed(4)} bits/byte (${result.heldOutLoss!.toFixed(4)} nats/byte, perplexity ${Math.exp(result.heldOutLoss!).toFixed(3)})`,
  '',
].join('\n');
writeFileSync(`${out}.txt`, report);
process.stdout.write(report);
