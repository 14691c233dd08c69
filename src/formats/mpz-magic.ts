/**
 * The signature of modelpress's own container (.mpz; docs/FORMAT.md,
 * "Header"). It lives here, below the container, so that format detection
 * recognises an .mpz file without importing src/codec/container, which
 * imports it from here.
 */

/** First 8 bytes of every .mpz file: "\x89MPZ\r\n\x1A\n" (PNG-style: catches text-mode and 7-bit damage). */
export const MPZ_MAGIC: Uint8Array = Uint8Array.of(0x89, 0x4d, 0x50, 0x5a, 0x0d, 0x0a, 0x1a, 0x0a);

/** True when `bytes` starts with the .mpz magic. */
export function hasMpzMagic(bytes: Uint8Array): boolean {
  if (bytes.length < MPZ_MAGIC.length) return false;
  for (let i = 0; i < MPZ_MAGIC.length; i++) if (bytes[i] !== MPZ_MAGIC[i]) return false;
  return true;
}
