/**
 * Quantization for weight files without a graph: TF.js models (quantized
 * manifest entries, as tfjs-converter writes them: uint8/uint16 affine per
 * tensor, or float16) and safetensors (float16 / bfloat16 storage).
 */
import { ModelpressError } from '../core/errors.js';
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from '../core/float16.js';
import { toFloat32, type Tensor } from '../core/tensor.js';
import { dequantizeTfjsAffine, quantizeTfjsAffine } from '../formats/tfjs/quantization.js';
import type { NamedTensor } from '../formats/types.js';
import { errorStats } from './linear.js';
import { getScheme, schemesForFileFormat, type SchemeFormats } from './schemes.js';
import { compilePattern } from './select.js';
import type { QuantizeOptions, TensorReport } from './types.js';

export type TfjsScheme = 'uint8' | 'uint16' | 'float16';

/** Scheme id -> TF.js quantization dtype (the scheme table's formats.tfjs). */
export function tfjsSchemeFor(scheme: string): TfjsScheme {
  const d = fileFormatOf(scheme, 'tfjs');
  if (d) return d;
  throw new ModelpressError(
    'E_UNSUPPORTED',
    `scheme ${scheme} does not apply to TF.js models; use ${idList('tfjs')} (the quantized manifest dtypes TF.js reads)`,
  );
}

/** Scheme id -> safetensors storage dtype (the scheme table's formats.safetensors). */
export function safetensorsSchemeFor(scheme: string): 'float16' | 'bfloat16' {
  const d = fileFormatOf(scheme, 'safetensors');
  if (d) return d;
  throw new ModelpressError(
    'E_UNSUPPORTED',
    `scheme ${scheme} does not apply to safetensors files (they hold no graph to decode quantized weights); use ${idList('safetensors')}`,
  );
}

function fileFormatOf<F extends 'tfjs' | 'safetensors'>(scheme: string, format: F): SchemeFormats[F] | undefined {
  try {
    return getScheme(scheme).formats[format];
  } catch {
    return undefined; // unknown or invalid id: the caller names the schemes that apply
  }
}

/** "a, b or c" of the scheme ids that write `format`. */
function idList(format: 'tfjs' | 'safetensors'): string {
  const ids = schemesForFileFormat(format).map((s) => s.id);
  return ids.length > 1 ? `${ids.slice(0, -1).join(', ')} or ${ids[ids.length - 1]}` : ids.join('');
}

function selected(name: string, count: number, opts: QuantizeOptions): string | undefined {
  if (opts.include?.length && !opts.include.some((p) => compilePattern(p)([name]))) return 'not matched by --include';
  if (opts.exclude?.some((p) => compilePattern(p)([name]))) return 'matched by --exclude';
  if (count < (opts.minSize ?? 256)) return `smaller than --min-size ${opts.minSize ?? 256}`;
  return undefined;
}

function isFloat32(t: Tensor): boolean {
  return t.dtype === 'float32';
}

/** What to quantize in a TF.js model, per weight, and the report with the exact error TF.js will see. */
export function planTfjsQuantization(
  tensors: readonly NamedTensor[],
  scheme: TfjsScheme,
  opts: QuantizeOptions,
): { choice: Record<string, TfjsScheme>; tensors: TensorReport[] } {
  const choice: Record<string, TfjsScheme> = {};
  const reports: TensorReport[] = [];
  for (const { name, tensor } of tensors) {
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    const base = { name, graph: '', ops: [], dtype: tensor.dtype, shape: tensor.shape };
    if (!isFloat32(tensor)) continue;
    const reason = selected(name, count, opts);
    if (reason) {
      reports.push({ ...base, action: 'skipped', reason, bytesBefore: count * 4, bytesAfter: count * 4 });
      continue;
    }
    const x = toFloat32(tensor);
    let restored: Float32Array;
    let bytes: number;
    if (scheme === 'float16') {
      restored = float16ToFloat32(float32ToFloat16(x));
      bytes = count * 2;
    } else {
      const q = quantizeTfjsAffine(x, scheme, name);
      restored = dequantizeTfjsAffine(q.data, q.scale, q.min);
      bytes = q.data.byteLength;
    }
    choice[name] = scheme;
    reports.push({
      ...base,
      action: `TF.js ${scheme} manifest entry`,
      bytesBefore: count * 4,
      bytesAfter: bytes,
      error: errorStats(x, restored),
    });
  }
  return { choice, tensors: reports };
}

/** safetensors: float32 tensors stored as float16 or bfloat16. */
export function quantizeSafetensorsTensors(
  tensors: readonly NamedTensor[],
  dtype: 'float16' | 'bfloat16',
  opts: QuantizeOptions,
): { tensors: { name: string; tensor: Tensor }[]; reports: TensorReport[] } {
  const out: { name: string; tensor: Tensor }[] = [];
  const reports: TensorReport[] = [];
  for (const { name, tensor } of tensors) {
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    const reason = isFloat32(tensor) ? selected(name, count, opts) : 'not float32';
    if (reason) {
      out.push({ name, tensor });
      if (isFloat32(tensor))
        reports.push({
          name,
          graph: '',
          ops: [],
          dtype: tensor.dtype,
          shape: tensor.shape,
          action: 'skipped',
          reason,
          bytesBefore: count * 4,
          bytesAfter: count * 4,
        });
      continue;
    }
    const x = toFloat32(tensor);
    let clamped = 0;
    const clamp = (v: number): number => {
      if (v > 65504 || v < -65504) {
        clamped++;
        return v > 0 ? 65504 : -65504;
      }
      return v;
    };
    const src = dtype === 'float16' ? x.map(clamp) : x;
    const bits = dtype === 'float16' ? float32ToFloat16(src) : float32ToBfloat16(src);
    const restored = dtype === 'float16' ? float16ToFloat32(bits) : bfloat16ToFloat32(bits);
    out.push({ name, tensor: { dtype, shape: tensor.shape, data: new Uint8Array(bits.buffer) } });
    reports.push({
      name,
      graph: '',
      ops: [],
      dtype: 'float32',
      shape: tensor.shape,
      action: `${dtype} storage${clamped ? ` (${clamped} values beyond ±65504 clamped)` : ''}`,
      bytesBefore: count * 4,
      bytesAfter: count * 2,
      error: errorStats(x, restored),
    });
  }
  return { tensors: out, reports };
}
