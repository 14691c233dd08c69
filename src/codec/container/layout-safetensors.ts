/**
 * Payload slots of a safetensors file: the 8-byte header length and the JSON
 * header stay in the skeleton verbatim; each tensor's data range is a slot.
 */
import { byteLength, dtypeFromSafetensors, elementCount, type DType } from '../../core/dtypes.js';
import { fail } from '../../core/errors.js';
import { MIN_SLOT_BYTES, uniqueNames, type PayloadSlot, type SourceLayout } from './layout.js';

interface HeaderEntry {
  dtype?: unknown;
  shape?: unknown;
  data_offsets?: unknown;
}

export function safetensorsLayout(bytes: Uint8Array): SourceLayout {
  if (bytes.length < 8) fail('E_TRUNCATED', `safetensors file of ${bytes.length} bytes has no header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) fail('E_TRUNCATED', `safetensors header length ${n64} exceeds the file`);
  const n = Number(n64);
  const dataStart = 8 + n;
  let header: Record<string, HeaderEntry>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart))) as Record<string, HeaderEntry>;
  } catch (e) {
    return fail('E_FORMAT', `safetensors header is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('E_FORMAT', 'safetensors header is not a JSON object');
  const slots: (PayloadSlot & { name: string })[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const offs = entry.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((x) => Number.isSafeInteger(x) && x >= 0)) fail('E_FORMAT', `safetensors tensor '${name}' has bad data_offsets`);
    const [a, b] = offs as [number, number];
    if (b < a || dataStart + b > bytes.length) fail('E_CORRUPT', `safetensors tensor '${name}' data_offsets [${a}, ${b}] outside the data`);
    const length = b - a;
    if (length < MIN_SLOT_BYTES) continue;
    const dtype = typeof entry.dtype === 'string' ? dtypeFromSafetensors(entry.dtype) : undefined;
    const shape = Array.isArray(entry.shape) && entry.shape.every((d) => Number.isSafeInteger(d) && d >= 0) ? (entry.shape as number[]) : undefined;
    const typed = dtype !== undefined && shape !== undefined && byteLength(dtype, elementCount(shape)) === length;
    slots.push({ name, dtype: typed ? (dtype as DType) : 'bytes', shape: typed ? shape : [length], offset: dataStart + a, length });
  }
  slots.sort((x, y) => x.offset - y.offset);
  const kept: PayloadSlot[] = [];
  let end = dataStart;
  for (const s of slots) {
    if (s.offset < end) continue; // overlapping or aliased ranges stay in the skeleton
    kept.push(s);
    end = s.offset + s.length;
  }
  return { format: 'safetensors', files: [{ name: '', length: bytes.length }], slots: uniqueNames(kept.map((s) => ({ ...s }))) };
}
