/**
 * A source layout describes an original model as one byte stream (its files
 * concatenated) in which some byte ranges are tensor payloads. Everything
 * that is not a payload is the skeleton. Packing codes the skeleton and the
 * payloads separately; unpacking interleaves them again, so the original
 * bytes come back exactly by construction.
 *
 * The container does not parse model formats: formats/ finds the payload
 * ranges (a ByteLayout, formats/layout.ts) and sourceLayout() picks the
 * slots from them.
 */
import type { ByteLayout, LayoutFile, PayloadRange } from '../../formats/layout.js';

/** Original format ids as stored in the container (docs/FORMAT.md, "Format id"). */
export const FORMAT_IDS = { opaque: 0, onnx: 1, safetensors: 2, tfjs: 3 } as const;
export type SourceFormat = keyof typeof FORMAT_IDS;

/** A payload range the container keeps as a table entry; its name is unique within the layout. */
export type PayloadSlot = PayloadRange;
/** One original file (relative path, '' for the single file of an ONNX or safetensors model) and its length. */
export type SourceFile = LayoutFile;

export interface SourceLayout {
  readonly format: SourceFormat;
  readonly files: readonly SourceFile[];
  /** Sorted by offset, non-overlapping. */
  readonly slots: readonly PayloadSlot[];
}

/** Payloads shorter than this stay in the skeleton: a table entry would cost more than it saves. */
export const MIN_SLOT_BYTES = 64;

/**
 * The container's slots from a format's payload ranges: ranges of at least
 * MIN_SLOT_BYTES, by offset (ties keep walk order); a range overlapping an
 * earlier one (aliased or shared bytes) stays in the skeleton; names made unique.
 */
export function sourceLayout(layout: ByteLayout): SourceLayout {
  const ranges = layout.ranges.filter((r) => r.length >= MIN_SLOT_BYTES).sort((a, b) => a.offset - b.offset);
  const kept: PayloadSlot[] = [];
  let end = 0;
  for (const r of ranges) {
    if (r.offset < end) continue;
    kept.push(r);
    end = r.offset + r.length;
  }
  return { format: layout.format, files: layout.files, slots: uniqueNames(kept.map((s) => ({ ...s }))) };
}

/** Makes names unique by suffixing '#2', '#3', ... to repeats; empty names become 'tensor@<offset>'. */
export function uniqueNames<T extends { name: string; offset: number }>(items: T[]): T[] {
  const seen = new Map<string, number>();
  for (const it of items) {
    const base = it.name === '' ? `tensor@${it.offset}` : it.name;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    it.name = n === 1 ? base : `${base}#${n}`;
  }
  return items;
}

/** Splits `whole` into the skeleton (payload ranges removed) and the list of payload views. */
export function splitSkeleton(whole: Uint8Array, slots: readonly PayloadSlot[]): { skeleton: Uint8Array; payloads: Uint8Array[] } {
  let payloadBytes = 0;
  for (const s of slots) payloadBytes += s.length;
  const skeleton = new Uint8Array(whole.length - payloadBytes);
  const payloads: Uint8Array[] = [];
  let src = 0;
  let dst = 0;
  for (const s of slots) {
    skeleton.set(whole.subarray(src, s.offset), dst);
    dst += s.offset - src;
    payloads.push(whole.subarray(s.offset, s.offset + s.length));
    src = s.offset + s.length;
  }
  skeleton.set(whole.subarray(src), dst);
  return { skeleton, payloads };
}
