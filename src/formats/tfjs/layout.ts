/**
 * Where the weights of a TF.js model sit in its files, for the container
 * (see formats/layout.ts). The validating reader is manifest.ts/read.ts.
 */
import { DTYPES, type DType } from '../../core/dtypes.js';
import { fail } from '../../core/errors.js';
import type { ByteLayout, PayloadRange } from '../layout.js';
import { TFJS_QUANTIZATION_DTYPES, parseTfjsJson, type TfjsQuantizationDtype } from './manifest.js';

interface ManifestWeight {
  name?: unknown;
  shape?: unknown;
  dtype?: unknown;
  quantization?: { dtype?: unknown };
}

interface ManifestGroup {
  paths?: unknown;
  weights?: unknown;
}

/**
 * How a weight's bytes are stored: a manifest dtype (core's TF.js names) or a
 * quantization dtype (core's own names). complex64 is stored as float32 pairs.
 */
function storedAs(name: string): { dtype: DType; bytes: number } | undefined {
  if (name === 'complex64') return { dtype: 'float32', bytes: 8 };
  const t =
    DTYPES.find((d) => d.tfjs === name && d.name !== 'string') ??
    (TFJS_QUANTIZATION_DTYPES.includes(name as TfjsQuantizationDtype) ? DTYPES.find((d) => d.name === name) : undefined);
  return t && { dtype: t.name, bytes: t.bits / 8 };
}

/** The weights manifest groups of a TF.js model JSON (layers or graph model), unvalidated beyond being an array. */
function tfjsManifest(json: Uint8Array): ManifestGroup[] {
  const model = parseTfjsJson(json);
  if (!Array.isArray(model.weightsManifest)) fail('E_FORMAT', 'TF.js model JSON has no weightsManifest array');
  return model.weightsManifest as ManifestGroup[];
}

/** Shard paths of every group, in manifest order. */
export function tfjsShardPaths(json: Uint8Array): string[] {
  const paths: string[] = [];
  for (const [g, group] of tfjsManifest(json).entries()) {
    if (!Array.isArray(group.paths) || !group.paths.every((p) => typeof p === 'string'))
      fail('E_FORMAT', `TF.js weightsManifest group ${g} has no paths`);
    paths.push(...(group.paths as string[]));
  }
  return paths;
}

/**
 * The byte layout of a TF.js model: model.json is not a payload; each weight
 * of the weights manifest is one range in the concatenation of its group's
 * shard files (a weight may span shards). Files must be given as the model
 * JSON first, then every group's shards in manifest order. Lenient like the
 * other byte layouts: only the manifest fields needed to place weights are read.
 */
export function tfjsByteLayout(files: readonly { name: string; bytes: Uint8Array }[]): ByteLayout {
  const groups = tfjsManifest(files[0]!.bytes);
  const wantPaths = tfjsShardPaths(files[0]!.bytes);
  const shards = files.slice(1);
  if (shards.length !== wantPaths.length || shards.some((f, i) => f.name !== wantPaths[i]))
    fail('E_ARG', `TF.js files must be the model JSON then the shards ${wantPaths.join(', ')} in manifest order`);
  const ranges: PayloadRange[] = [];
  let fileIndex = 1;
  let groupStart = files[0]!.bytes.length;
  for (const [g, group] of groups.entries()) {
    const paths = group.paths as string[];
    let groupLength = 0;
    for (let k = 0; k < paths.length; k++) groupLength += files[fileIndex + k]!.bytes.length;
    const groupBytes = files.slice(fileIndex, fileIndex + paths.length).map((f) => f.bytes);
    if (!Array.isArray(group.weights)) fail('E_FORMAT', `TF.js weightsManifest group ${g} has no weights`);
    let pos = 0;
    for (const w of group.weights as ManifestWeight[]) {
      const name = typeof w.name === 'string' ? w.name : '';
      const shape =
        Array.isArray(w.shape) && w.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
          ? (w.shape as number[])
          : fail('E_FORMAT', `TF.js weight '${name}' has a bad shape`);
      const count = shape.reduce((a, b) => a * b, 1);
      if (w.dtype === 'string') {
        pos += stringBytes(groupBytes, pos, count, name);
        continue;
      }
      const storedName = typeof w.quantization?.dtype === 'string' ? w.quantization.dtype : String(w.dtype);
      const stored = storedAs(storedName) ?? fail('E_UNSUPPORTED', `TF.js weight '${name}' has dtype ${storedName}`);
      const length = count * stored.bytes;
      if (pos + length > groupLength) fail('E_TRUNCATED', `TF.js weight '${name}' runs past the end of group ${g}'s shards`);
      const typedShape = storedName === 'complex64' ? [count * 2] : shape;
      ranges.push({ name, dtype: stored.dtype, shape: typedShape, offset: groupStart + pos, length });
      pos += length;
    }
    fileIndex += paths.length;
    groupStart += groupLength;
  }
  return { format: 'tfjs', files: files.map((f) => ({ name: f.name, length: f.bytes.length })), ranges };
}

/** Byte length of `count` TF.js strings (each a uint32 LE length, then the bytes) starting at `pos` of the group. */
function stringBytes(group: readonly Uint8Array[], pos: number, count: number, name: string): number {
  const byteAt = (p: number): number => {
    for (const b of group) {
      if (p < b.length) return b[p]!;
      p -= b.length;
    }
    return fail('E_TRUNCATED', `TF.js string weight '${name}' runs past the end of its shards`);
  };
  let p = pos;
  for (let i = 0; i < count; i++) {
    const len = (byteAt(p) | (byteAt(p + 1) << 8) | (byteAt(p + 2) << 16) | (byteAt(p + 3) << 24)) >>> 0;
    p += 4 + len;
  }
  return p - pos;
}
