/**
 * safetensors on disk: the header and single tensors are read through a file
 * handle at their offsets, so a 10 GB checkpoint costs only what is asked for.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { ModelpressError, isModelpressError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import {
  parseSafetensorsHeader,
  readSafetensors,
  safetensorsHeaderLength,
  tensorFromSafetensorsEntry,
  encodeSafetensors,
  type SafetensorsContent,
  type SafetensorsHeader,
} from '../formats/safetensors.js';
import type { NamedTensor } from '../formats/types.js';
import { readFileChecked, writeFileAtomic } from './fs.js';

async function openChecked(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelpressError(
      code === 'ENOENT' ? 'E_NOT_FOUND' : 'E_IO',
      code === 'ENOENT' ? 'no such file' : `cannot open: ${(e as Error).message}`,
      { file: path, cause: e },
    );
  }
}

/** Reads exactly `length` bytes at `position`, or E_TRUNCATED. */
async function readAt(fh: FileHandle, position: number, length: number, path: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, length - done, position + done);
    if (bytesRead === 0)
      throw new ModelpressError('E_TRUNCATED', `file ended at ${position + done} while reading ${length} bytes at offset ${position}`, {
        file: path,
      });
    done += bytesRead;
  }
  return out;
}

async function withHeader<T>(path: string, body: (fh: FileHandle, header: SafetensorsHeader) => Promise<T>): Promise<T> {
  const fh = await openChecked(path);
  try {
    const size = (await fh.stat()).size;
    const first8 = await readAt(fh, 0, Math.min(8, size), path);
    const n = safetensorsHeaderLength(first8, size, path);
    const head = new Uint8Array(8 + n);
    head.set(first8, 0);
    head.set(await readAt(fh, 8, n, path), 8);
    const header = parseSafetensorsHeader(head, size, path);
    return await body(fh, header);
  } catch (e) {
    throw isModelpressError(e) ? e.withFile(path) : e;
  } finally {
    await fh.close();
  }
}

/** The validated header of a safetensors file (reads 8 + N bytes, not the data). */
export function readSafetensorsHeaderFile(path: string): Promise<SafetensorsHeader> {
  return withHeader(path, async (_fh, header) => header);
}

/** One tensor of a safetensors file, reading only the header and that tensor's bytes. E_NOT_FOUND if absent. */
export function readSafetensorsTensorFile(path: string, name: string): Promise<NamedTensor> {
  return withHeader(path, async (fh, header) => {
    const entry = header.entries.find((e) => e.name === name);
    if (!entry)
      throw new ModelpressError('E_NOT_FOUND', `no tensor named "${name}" (the file has ${header.entries.length})`, { file: path });
    const data = await readAt(fh, header.dataStart + entry.begin, entry.end - entry.begin, path);
    return tensorFromSafetensorsEntry(entry, data, header.dataStart);
  });
}

/** Reads a whole safetensors file. */
export function readSafetensorsFile(path: string): SafetensorsContent {
  return readSafetensors(readFileChecked(path), path);
}

/** Writes a safetensors file atomically (temp file + rename). */
export function writeSafetensorsFile(
  path: string,
  tensors: readonly { readonly name: string; readonly tensor: Tensor }[],
  metadata?: Readonly<Record<string, string>>,
): void {
  let parts: Uint8Array[];
  try {
    parts = encodeSafetensors(tensors, metadata);
  } catch (e) {
    throw isModelpressError(e) ? e.withFile(path) : e;
  }
  writeFileAtomic(path, parts);
}
