/**
 * The compression worker: reads the dropped File (once, with the File API),
 * inspects it, quantizes it with one scheme or packs it into .mpz, and sends the
 * output bytes back transferred (not copied). The page terminates the worker to
 * cancel. Options match `modelpress quantize --scheme <s>` and `modelpress pack`
 * with their defaults, so the bytes equal the CLI's.
 */
import {
  buildInspectReport,
  detectFormat,
  isModelpressError,
  ModelpressError,
  quantizeSafetensorsTensors,
  safetensorsSchemeFor,
  writeSafetensors,
  listOnnxTensors,
  packModel,
  quantizeModel,
  readOnnx,
  readSafetensors,
  writeOnnx,
} from 'modelpress';
import { createWebRunner } from 'modelpress/browser';
import { configureOrt } from './ort.js';
import type { Job, Reply, RunSummary } from './protocol.js';

const post = (r: Reply, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(r, transfer);
const progress = (phase: string, done = 0, total = 0): void => post({ kind: 'progress', phase, done, total });

async function read(file: File): Promise<Uint8Array> {
  progress(`reading ${file.name}`);
  return new Uint8Array(await file.arrayBuffer());
}

async function inspect(file: File): Promise<void> {
  const t0 = performance.now();
  const bytes = await read(file);
  const format = detectFormat(bytes, file.name);
  if (format === 'onnx') {
    const onnx = readOnnx(bytes, { file: file.name });
    const tensors = listOnnxTensors(onnx, { file: file.name });
    let done = 0;
    const report = buildInspectReport(
      { format, path: file.name, sizeBytes: bytes.length, files: [file.name], tensors, onnx },
      () => ++done % 16 === 0 && progress('statistics', done, tensors.length),
    );
    post({ kind: 'inspect', report, ms: performance.now() - t0 });
  } else if (format === 'safetensors') {
    const st = readSafetensors(bytes, file.name);
    const report = buildInspectReport({ format, path: file.name, sizeBytes: bytes.length, files: [file.name], tensors: st.tensors });
    post({ kind: 'inspect', report, ms: performance.now() - t0 });
  } else {
    throw new ModelpressError('E_UNSUPPORTED', `${format} models are not handled by this page (ONNX and safetensors are); use the CLI`, {
      file: file.name,
    });
  }
}

function baseName(name: string): string {
  return name.replace(/\.(onnx|safetensors)$/i, '');
}

async function run(file: File, scheme: string): Promise<void> {
  const t0 = performance.now();
  const bytes = await read(file);
  if (scheme === 'pack') {
    progress('packing (choosing a coder per tensor, then decoding to verify)');
    const { bytes: out, report } = packModel(
      { format: detectFormat(bytes, file.name) as 'onnx', files: [{ name: '', bytes }] },
      { file: file.name, verify: true },
    );
    const summary: RunSummary = {
      scheme,
      sizeBefore: bytes.length,
      sizeAfter: out.length,
      tensors: report.tensors.length,
      skipped: 0,
      notes: report.fallback ? [`stored whole: ${report.fallback}`] : [],
      minWeightSnrDb: null,
      ms: performance.now() - t0,
    };
    post({ kind: 'result', bytes: out, fileName: `${file.name}.mpz`, summary }, [out.buffer]);
    return;
  }
  const format = detectFormat(bytes, file.name);
  if (format === 'safetensors') {
    progress(`converting (${scheme})`);
    const st = readSafetensors(bytes, file.name);
    const r = quantizeSafetensorsTensors(st.tensors, safetensorsSchemeFor(scheme), { file: file.name, minSize: 256 });
    const changed = r.reports.filter((t) => t.action !== 'skipped').length;
    if (changed === 0)
      throw new ModelpressError('E_UNSUPPORTED', `scheme ${scheme} found no float32 tensor to convert`, { file: file.name });
    const out = writeSafetensors(r.tensors, st.metadata);
    const summary: RunSummary = {
      scheme,
      sizeBefore: bytes.length,
      sizeAfter: out.length,
      tensors: changed,
      skipped: r.reports.length - changed,
      notes: [],
      minWeightSnrDb: null,
      ms: performance.now() - t0,
    };
    post({ kind: 'result', bytes: out, fileName: `${baseName(file.name)}.${scheme}.safetensors`, summary }, [out.buffer]);
    return;
  }
  progress('parsing');
  const { proto } = readOnnx(bytes, { file: file.name });
  progress(`quantizing (${scheme})`);
  // the fp16 scheme probes onnxruntime for missing float16 kernels, as the CLI does with onnxruntime-node
  const result = await quantizeModel(proto, scheme, {
    file: file.name,
    minSize: 256,
    openRunner: async (m, o) => {
      await configureOrt(self.location.href);
      return createWebRunner(m, o);
    },
  });
  progress('writing');
  const out = writeOnnx(result.model, { file: file.name });
  const done = result.tensors.filter((t) => t.action !== 'skipped');
  const snrs = done.flatMap((t) => (t.error && Number.isFinite(t.error.snrDb) ? [t.error.snrDb] : []));
  const summary: RunSummary = {
    scheme,
    sizeBefore: bytes.length,
    sizeAfter: out.length,
    tensors: done.length,
    skipped: result.tensors.length - done.length,
    notes: result.notes,
    minWeightSnrDb: snrs.length ? Math.min(...snrs) : null,
    ms: performance.now() - t0,
  };
  post({ kind: 'result', bytes: out, fileName: `${baseName(file.name)}.${scheme.replace(':', '')}.onnx`, summary }, [out.buffer]);
}

self.onmessage = async (e: MessageEvent<Job>) => {
  try {
    if (e.data.kind === 'inspect') await inspect(e.data.file);
    else await run(e.data.file, e.data.scheme);
  } catch (err) {
    const code = isModelpressError(err) ? err.code : ((err as { code?: string }).code ?? 'E_INTERNAL');
    post({ kind: 'error', code, message: err instanceof Error ? err.message : String(err) });
  }
};
