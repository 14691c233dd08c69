/**
 * The size of the web app's own JavaScript in web/dist (after `npm run build:app`):
 * each chunk raw and gzipped (level 9), and the total without onnxruntime-web (its
 * loader chunks assets/ort.wasm.min-*.js and the ort/ runtime files are not counted).
 * `npm run size:app` prints it; test/web/app.test.ts holds it to a budget.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface ChunkSize {
  readonly file: string;
  readonly raw: number;
  readonly gz: number;
  /** onnxruntime-web's own chunk, not counted as the page's. */
  readonly ort: boolean;
}

export function appJsSizes(dist = join(import.meta.dirname, 'dist')): { chunks: ChunkSize[]; ownRaw: number; ownGz: number } {
  const assets = join(dist, 'assets');
  const chunks = readdirSync(assets)
    .filter((f) => f.endsWith('.js'))
    .map((file) => {
      const bytes = readFileSync(join(assets, file));
      return { file, raw: bytes.length, gz: gzipSync(bytes, { level: 9 }).length, ort: file.startsWith('ort.') };
    })
    .sort((a, b) => b.gz - a.gz);
  const own = chunks.filter((c) => !c.ort);
  return { chunks, ownRaw: own.reduce((a, c) => a + c.raw, 0), ownGz: own.reduce((a, c) => a + c.gz, 0) };
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const { chunks, ownRaw, ownGz } = appJsSizes();
  for (const c of chunks)
    console.log(
      `${c.file.padEnd(40)} ${String(c.raw).padStart(9)} B  ${String(c.gz).padStart(8)} B gz${c.ort ? '  (onnxruntime-web)' : ''}`,
    );
  console.log(`page's own JS (${chunks.filter((c) => !c.ort).length} chunks, without onnxruntime-web): ${ownRaw} B, ${ownGz} B gzipped`);
}
