/**
 * Payload slots of a TF.js model: model.json stays in the skeleton verbatim;
 * each weight of the weights manifest is a slot in the concatenation of its
 * group's shard files (a weight may span shards). Files must be given as the
 * model JSON first, then every group's shards in manifest order.
 */
import type { DType } from '../../core/dtypes.js';
import { fail } from '../../core/errors.js';
import { MIN_SLOT_BYTES, uniqueNames, type PayloadSlot, type SourceLayout } from './layout.js';

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

const STORED: Record<string, { dtype: DType; bytes: number }> = {
  float32: { dtype: 'float32', bytes: 4 },
  int32: { dtype: 'int32', bytes: 4 },
  bool: { dtype: 'bool', bytes: 1 },
  complex64: { dtype: 'float32', bytes: 8 },
  uint8: { dtype: 'uint8', bytes: 1 },
  uint16: { dtype: 'uint16', bytes: 2 },
  float16: { dtype: 'float16', bytes: 2 },
};

/** The weights manifest groups of a TF.js model JSON (layers or graph model). */
export function tfjsManifest(json: Uint8Array): ManifestGroup[] {
  let model: { weightsManifest?: unknown };
  try {
    model = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json)) as { weightsManifest?: unknown };
  } catch (e) {
    return fail('E_FORMAT', `TF.js model JSON does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(model.weightsManifest)) fail('E_FORMAT', 'TF.js model JSON has no weightsManifest array');
  return model.weightsManifest as ManifestGroup[];
}

/** Shard paths of every group, in manifest order. */
export function tfjsShardPaths(json: Uint8Array): string[] {
  const paths: string[] = [];
  for (const [g, group] of tfjsManifest(json).entries()) {
    if (!Array.isArray(group.paths) || !group.paths.every((p) => typeof p === 'string')) fail('E_FORMAT', `TF.js weightsManifest group ${g} has no paths`);
    paths.push(...(group.paths as string[]));
  }
  return paths;
}

export function tfjsLayout(files: readonly { name: string; bytes: Uint8Array }[]): SourceLayout {
  const groups = tfjsManifest(files[0]!.bytes);
  const wantPaths = tfjsShardPaths(files[0]!.bytes);
  const shards = files.slice(1);
  if (shards.length !== wantPaths.length || shards.some((f, i) => f.name !== wantPaths[i]))
    fail('E_ARG', `TF.js files must be the model JSON then the shards ${wantPaths.join(', ')} in manifest order`);
  const slots: PayloadSlot[] = [];
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
      const shape = Array.isArray(w.shape) && w.shape.every((d) => Number.isSafeInteger(d) && d >= 0) ? (w.shape as number[]) : fail('E_FORMAT', `TF.js weight '${name}' has a bad shape`);
      const count = shape.reduce((a, b) => a * b, 1);
      if (w.dtype === 'string') {
        pos += stringBytes(groupBytes, pos, count, name);
        continue;
      }
      const storedName = typeof w.quantization?.dtype === 'string' ? w.quantization.dtype : String(w.dtype);
      const stored = STORED[storedName] ?? fail('E_UNSUPPORTED', `TF.js weight '${name}' has dtype ${storedName}`);
      const length = count * stored.bytes;
      if (pos + length > groupLength) fail('E_TRUNCATED', `TF.js weight '${name}' runs past the end of group ${g}'s shards`);
      if (length >= MIN_SLOT_BYTES) {
        const typedShape = storedName === 'complex64' ? [count * 2] : shape;
        slots.push({ name, dtype: stored.dtype, shape: typedShape, offset: groupStart + pos, length });
      }
      pos += length;
    }
    fileIndex += paths.length;
    groupStart += groupLength;
  }
  return { format: 'tfjs', files: files.map((f) => ({ name: f.name, length: f.bytes.length })), slots: uniqueNames(slots.map((s) => ({ ...s }))) };
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
