/**
 * Structural copy of protobuf-es messages that shares byte payloads
 * (Uint8Array) instead of copying them: replacing a few tensors in a 10 MB
 * model should not duplicate the other 10 MB. Field presence is kept
 * exactly (own properties are copied, proto2 defaults stay on the
 * prototype), so an unchanged copy encodes to identical bytes.
 */

/** A deep copy of `value` in which every Uint8Array is shared with the original. Treat payload bytes as immutable. */
export function cloneSharingBytes<T>(value: T): T {
  return copy(value) as T;
}

function copy(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map(copy);
  const out = Object.create(Object.getPrototypeOf(v) as object | null) as Record<string, unknown>;
  for (const key of Object.keys(v)) out[key] = copy((v as Record<string, unknown>)[key]);
  return out;
}
