/**
 * Rebuilds the original bytes from an .mpz index and its chunks, taken in
 * file order. The whole-buffer reader and the streaming reader both drive
 * this one assembler, so they cannot disagree.
 */
import { fail } from '../../core/errors.js';
import { crc32c } from '../checksum.js';
import { decodeByteChunk, decodeTensorChunk, rethrowAt } from './decode-chunk.js';
import { elementWidth, type ChunkRef, type MpzIndex } from './index-codec.js';
import type { SourceFormat } from './layout.js';

export interface UnpackedFile {
  /** Relative path ('' for a single-file model). */
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface UnpackedModel {
  readonly format: SourceFormat;
  readonly files: readonly UnpackedFile[];
}

/** One unit of work, in file order: decode a chunk, or copy a deduplicated tensor. */
export type Step =
  | { readonly kind: 'chunk'; readonly owner: number; readonly chunk: ChunkRef; readonly index: number; readonly unitStart: number }
  | { readonly kind: 'dedup'; readonly owner: number };

/** The steps of an index in file order; owner -1 is the skeleton. */
export function planSteps(index: MpzIndex): Step[] {
  const steps: Step[] = [];
  let unit = 0;
  index.skeleton.chunks.forEach((chunk, i) => {
    steps.push({ kind: 'chunk', owner: -1, chunk, index: i, unitStart: unit });
    unit += chunk.count;
  });
  index.tensors.forEach((t, owner) => {
    if (t.encoding.kind === 'dedup') {
      steps.push({ kind: 'dedup', owner });
      return;
    }
    let u = 0;
    t.encoding.stream.chunks.forEach((chunk, i) => {
      steps.push({ kind: 'chunk', owner, chunk, index: i, unitStart: u });
      u += chunk.count;
    });
  });
  return steps;
}

/** Checks the CRC32C stored after a chunk's encoded bytes; `framed` = encoded bytes + 4 CRC bytes. */
export function checkChunkCrc(framed: Uint8Array, where: string, file?: string): Uint8Array {
  const n = framed.length - 4;
  const encoded = framed.subarray(0, n);
  const want = (framed[n]! | (framed[n + 1]! << 8) | (framed[n + 2]! << 16) | (framed[n + 3]! << 24)) >>> 0;
  if (crc32c(encoded) !== want) fail('E_CHECKSUM', `${where}: chunk CRC32C mismatch`, file);
  return encoded;
}

export class Assembler {
  readonly out: Uint8Array;
  /** Output ranges the skeleton fills, in order: [start, end) pairs. */
  private readonly gaps: number[] = [];

  constructor(
    readonly index: MpzIndex,
    private readonly file?: string,
  ) {
    try {
      this.out = new Uint8Array(index.totalLength);
    } catch {
      fail('E_UNSUPPORTED', `cannot allocate the ${index.totalLength}-byte output`, file);
    }
    let pos = 0;
    for (const t of index.tensors) {
      if (t.offset > pos) this.gaps.push(pos, t.offset);
      pos = t.offset + t.length;
    }
    if (index.totalLength > pos) this.gaps.push(pos, index.totalLength);
  }

  where(step: Step): string {
    if (step.owner < 0) return `skeleton chunk ${step.kind === 'chunk' ? step.index : 0}`;
    const name = this.index.tensors[step.owner]!.name;
    return step.kind === 'chunk' ? `tensor '${name}' chunk ${step.index}` : `tensor '${name}'`;
  }

  /** Applies one step; `framed` (chunk bytes + CRC) is required for chunk steps. */
  apply(step: Step, framed?: Uint8Array): void {
    const where = this.where(step);
    if (step.kind === 'dedup') {
      const t = this.index.tensors[step.owner]!;
      if (t.encoding.kind !== 'dedup') return;
      const src = this.index.tensors[t.encoding.ref]!;
      this.out.copyWithin(t.offset, src.offset, src.offset + src.length);
      return;
    }
    if (!framed || framed.length !== step.chunk.encodedLength + 4) fail('E_TRUNCATED', `${where}: chunk incomplete`, this.file);
    const encoded = checkChunkCrc(framed, where, this.file);
    try {
      if (step.owner < 0) this.scatterSkeleton(decodeByteChunk(this.index.skeleton.coder, encoded, step.chunk.count), step.unitStart);
      else {
        const t = this.index.tensors[step.owner]!;
        decodeTensorChunk(t.encoding, elementWidth(t.dtypeId), encoded, step.chunk.count, step.unitStart, this.out, t.offset);
      }
    } catch (e) {
      rethrowAt(e, where, this.file);
    }
  }

  /** Copies skeleton bytes [skStart, skStart + bytes.length) to their output gaps. */
  private scatterSkeleton(bytes: Uint8Array, skStart: number): void {
    let sk = 0; // skeleton position of the current gap start
    let done = 0;
    for (let g = 0; g < this.gaps.length && done < bytes.length; g += 2) {
      const start = this.gaps[g]!;
      const len = this.gaps[g + 1]! - start;
      const want = skStart + done;
      if (want < sk + len) {
        const within = want - sk;
        const n = Math.min(len - within, bytes.length - done);
        this.out.set(bytes.subarray(done, done + n), start + within);
        done += n;
      }
      sk += len;
    }
    if (done !== bytes.length) fail('E_CORRUPT', `skeleton chunk at ${skStart} exceeds the skeleton`, this.file);
  }

  /** Verifies each file's CRC32C and returns the files as views of the output. */
  finish(): UnpackedModel {
    const files: UnpackedFile[] = [];
    let pos = 0;
    for (const f of this.index.files) {
      const bytes = this.out.subarray(pos, pos + f.length);
      if (crc32c(bytes) !== f.crc)
        fail('E_CHECKSUM', `decoded file '${f.name || '(model)'}' does not match its recorded CRC32C`, this.file);
      files.push({ name: f.name, bytes });
      pos += f.length;
    }
    return { format: this.index.format, files };
  }
}
