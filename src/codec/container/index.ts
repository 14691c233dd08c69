/**
 * The `.mpz` container (docs/FORMAT.md): pack a model losslessly, unpack it
 * byte-identically (whole buffer or streaming), read one tensor.
 */
export { MPZ_MAGIC, VERSION_MAJOR, VERSION_MINOR, hasMpzMagic } from './format.js';
export { CODER_NAMES } from './coders.js';
export type { PackInput, PackOptions, PackReport, PackResult, TensorPackReport } from './pack.js';
export { packModel } from './pack.js';
export type { ReadOptions } from './reader.js';
export { listMpzTensors, openMpz, readTensor, unpackModel } from './reader.js';
export { unpackStream } from './stream.js';
export type { RangeReader, RangedMpz } from './ranged.js';
export { openMpzRanged } from './ranged.js';
export type { UnpackedFile, UnpackedModel } from './assemble.js';
export type { MpzIndex, TensorEntry } from './index-codec.js';
export type { SourceFormat, SourceLayout, PayloadSlot } from './layout.js';
