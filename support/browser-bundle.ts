/**
 * The browser decoder as a page would ship it: src/browser/decode.ts bundled
 * by esbuild for the browser platform (which fails on any `node:` import),
 * minified, and its gzip -9 size. The test holds it to the budget; bench/pack
 * prints it.
 */
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** Minified + gzipped bytes the decoder may take (25 KiB). */
export const BROWSER_BUDGET = 25 * 1024;

export async function bundleBrowserDecoder(): Promise<{ js: Uint8Array; min: number; gz: number }> {
  const r = await build({
    entryPoints: ['src/browser/decode.ts'],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    target: 'es2022',
    logLevel: 'silent',
  });
  const js = r.outputFiles[0]!.contents;
  return { js, min: js.length, gz: gzipSync(js, { level: 9 }).length };
}
