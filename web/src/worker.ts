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
  type NamedTensor,
  toFloat32,
  listSchemes,
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
import type { Histogram, Job, Reply, RunSummary, SchemeChoice, SchemeSize } from './protocol.js';

const post = (r: Reply, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(r, transfer);
const progress = (phase: string, done = 0, total = 0): void => post({ kind: 'progress', phase, done, total });

async function read(file: File): Promise<Uint8Array> {
  progress(`reading ${file.name}`);
  return new Uint8Array(await file.arrayBuffer());
}

/** The CLI's scheme table for a format, plus lossless packing; static (needs calibration data, the CLI's --calib) is left out. */
function schemesFor(format: string): SchemeChoice[] {
  const out: SchemeChoice[] = [{ id: 'pack', label: 'pack: lossless .mpz container (restores the exact bytes)' }];
  for (const s of listSchemes()) {
    if (s.needsCalibration) continue;
    if (format === 'onnx' ? !s.formats.onnx : !s.formats.safetensors) continue;
    if (s.id === 'kmeans:<bits>') for (const b of [2, 4, 6, 8]) out.push({ id: `kmeans:${b}`, label: `kmeans:${b}: ${s.summary}` });
    else out.push({ id: s.id, label: `${s.id}: ${s.summary}` });
  }
  return out;
}

const HIST_TENSORS = 12;
const HIST_BINS = 64;

/** Histograms of the largest float tensors' finite values. */
function histograms(tensors: readonly NamedTensor[]): Histogram[] {
  const floats = tensors.filter(
    (t) => ['float32', 'float16', 'bfloat16', 'float64'].includes(t.tensor.dtype) && t.tensor.data.byteLength >= 64,
  );
  return [...floats]
    .sort((a, b) => b.tensor.data.byteLength - a.tensor.data.byteLength)
    .slice(0, HIST_TENSORS)
    .map((t) => {
      const v = toFloat32(t.tensor);
      let min = Infinity;
      let max = -Infinity;
      for (const x of v) {
        if (!Number.isFinite(x)) continue;
        if (x < min) min = x;
        if (x > max) max = x;
      }
      const counts = new Array<number>(HIST_BINS).fill(0);
      const w = max > min ? (max - min) / HIST_BINS : 1;
      for (const x of v) if (Number.isFinite(x)) counts[Math.min(HIST_BINS - 1, Math.floor((x - min) / w))]!++;
      return { name: t.name, min, max, counts };
    });
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
    post({ kind: 'inspect', report, schemes: schemesFor(format), histograms: histograms(tensors), ms: performance.now() - t0 });
  } else if (format === 'safetensors') {
    const st = readSafetensors(bytes, file.name);
    const report = buildInspectReport({ format, path: file.name, sizeBytes: bytes.length, files: [file.name], tensors: st.tensors });
    post({ kind: 'inspect', report, schemes: schemesFor(format), histograms: histograms(st.tensors), ms: performance.now() - t0 });
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
  const bytes = await read(file);
  const r = await compress(file, bytes, scheme);
  post({ kind: 'result', ...r }, [r.bytes.buffer]);
}

/** Every scheme's output size on this model, one after the other (progress per scheme). */
async function sizes(file: File, schemes: readonly string[]): Promise<void> {
  const bytes = await read(file);
  const out: SchemeSize[] = [];
  for (const [i, scheme] of schemes.entries()) {
    progress(`measuring ${scheme}`, i, schemes.length);
    const t0 = performance.now();
    try {
      const r = await compress(file, bytes, scheme);
      out.push({ id: scheme, bytes: r.bytes.length, ms: performance.now() - t0 });
    } catch (e) {
      out.push({ id: scheme, bytes: null, error: e instanceof Error ? e.message : String(e), ms: performance.now() - t0 });
    }
  }
  post({ kind: 'sizes', sizes: out });
}

async function compress(
  file: File,
  bytes: Uint8Array,
  scheme: string,
): Promise<{ bytes: Uint8Array; fileName: string; summary: RunSummary }> {
  const t0 = performance.now();
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
    return { bytes: out, fileName: `${file.name}.mpz`, summary };
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
    return { bytes: out, fileName: `${baseName(file.name)}.${scheme}.safetensors`, summary };
  }
  progress('parsing');
  const { proto } = readOnnx(bytes, { file: file.name });
  progress(`quantizing (${scheme})`);
  // the fp16 scheme probes onnxruntime for missing float16 kernels, as the CLI does with onnxruntime-node
  const result = await quantizeModel(proto, scheme, {
    file: file.name,
    minSize: 256,
    openRunner: async (m, o) => {
      await configureOrt(new URL('../', self.location.href).href); // the worker is in assets/ (src/ in dev)
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
  return { bytes: out, fileName: `${baseName(file.name)}.${scheme.replace(':', '')}.onnx`, summary };
}

self.onmessage = async (e: MessageEvent<Job>) => {
  try {
    if (e.data.kind === 'inspect') await inspect(e.data.file);
    else if (e.data.kind === 'run') await run(e.data.file, e.data.scheme);
    else await sizes(e.data.file, e.data.schemes);
  } catch (err) {
    const code = isModelpressError(err) ? err.code : ((err as { code?: string }).code ?? 'E_INTERNAL');
    post({ kind: 'error', code, message: err instanceof Error ? err.message : String(err) });
  }
};
