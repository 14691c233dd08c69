/**
 * Writes Debian's Fashion-MNIST (package dataset-fashion-mnist, or the IDX
 * files in --data-dir) as .npz files that every `--data` command reads the way
 * it reads the built-in `fashion-mnist` spec:
 *
 *   fashion-mnist-test.npz  x uint8 [10000, 1, 28, 28], y int64 [10000]
 *   fashion-mnist.npz       x uint8 [70000, 1, 28, 28], y int64, split uint8
 *                           (the 60k official train images, then the 10k test
 *                           images; split 0 = train, 1 = test, so `file.npz:train`
 *                           and `file.npz:test` are the official splits)
 *
 * x keeps the pixels as uint8 (commands scale uint8 by 1/255, as they do the
 * IDX bytes), laid out as the classifiers here take them: NCHW [N, 1, 28, 28]
 * by default, `--layout nhw` for [N, 28, 28], `--layout nhwc` for [N, 28, 28, 1].
 *
 *   npx tsx scripts/export-fashion-mnist.ts [out-dir] [--data-dir dir] [--layout nchw|nhw|nhwc] [--test-only]
 *   (default out-dir .cache/fixtures/fashion-mnist)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeTensor } from '../src/core/tensor.js';
import { encodeNpy } from '../src/eval/datasets/npy.js';
import type { ImageDataset } from '../src/eval/datasets/idx.js';
import { loadFashionMnist } from '../src/node/datasets.js';
import { storedNpz } from '../test/eval/helpers.js';

export type ExportLayout = 'nchw' | 'nhw' | 'nhwc';

export interface ExportOptions {
  readonly outDir: string;
  readonly dataDir?: string | undefined;
  readonly layout?: ExportLayout;
  /** Only fashion-mnist-test.npz (the combined file needs the 60k train split too). */
  readonly testOnly?: boolean;
}

function sampleShape(layout: ExportLayout, rows: number, cols: number): number[] {
  return layout === 'nchw' ? [1, rows, cols] : layout === 'nhwc' ? [rows, cols, 1] : [rows, cols];
}

function npzOf(parts: readonly ImageDataset[], layout: ExportLayout, withSplit: boolean): Uint8Array {
  const count = parts.reduce((a, p) => a + p.count, 0);
  const { rows, cols } = parts[0]!;
  const pixels = new Uint8Array(count * rows * cols);
  const labels = new BigInt64Array(count);
  const split = new Uint8Array(count);
  let at = 0;
  parts.forEach((p, k) => {
    pixels.set(p.images, at * rows * cols);
    for (let i = 0; i < p.count; i++) {
      labels[at + i] = BigInt(p.labels[i]!);
      split[at + i] = k;
    }
    at += p.count;
  });
  const members: Record<string, Uint8Array> = {
    x: encodeNpy(makeTensor('uint8', [count, ...sampleShape(layout, rows, cols)], pixels)),
    y: encodeNpy(makeTensor('int64', [count], new Uint8Array(labels.buffer))),
  };
  if (withSplit) members.split = encodeNpy(makeTensor('uint8', [count], split));
  return storedNpz(members);
}

/** Writes the files; returns their paths. */
export function exportFashionMnist(o: ExportOptions): string[] {
  const layout = o.layout ?? 'nchw';
  const from = o.dataDir === undefined ? {} : { dataDir: o.dataDir };
  mkdirSync(o.outDir, { recursive: true });
  const test = loadFashionMnist({ split: 'test', ...from });
  const written: string[] = [];
  const testFile = join(o.outDir, 'fashion-mnist-test.npz');
  writeFileSync(testFile, npzOf([test], layout, false));
  written.push(testFile);
  if (!o.testOnly) {
    const train = loadFashionMnist({ split: 'train', ...from });
    const both = join(o.outDir, 'fashion-mnist.npz');
    writeFileSync(both, npzOf([train, test], layout, true));
    written.push(both);
  }
  return written;
}

function main(argv: readonly string[]): void {
  let outDir = '.cache/fixtures/fashion-mnist';
  let dataDir: string | undefined;
  let layout: ExportLayout = 'nchw';
  let testOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--data-dir') dataDir = argv[++i];
    else if (a === '--layout') {
      const v = argv[++i];
      if (v !== 'nchw' && v !== 'nhw' && v !== 'nhwc') throw new Error(`--layout must be nchw, nhw or nhwc, got ${v}`);
      layout = v;
    } else if (a === '--test-only') testOnly = true;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else outDir = a;
  }
  for (const f of exportFashionMnist({ outDir, dataDir, layout, testOnly })) process.stdout.write(`wrote ${f}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));
