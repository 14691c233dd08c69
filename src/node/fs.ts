/**
 * File access with modelpress errors: reads that name the path, and writes
 * that never leave a half-written output (temp file in the same directory,
 * fsync, rename; the temp is removed on failure).
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ModelpressError } from '../core/errors.js';
import { readInputFile } from './open.js';
import { registerTemp, unregisterTemp } from './output.js';

/** Bytes to write: one buffer, or chunks written in order (avoids concatenating big outputs). */
export type FileData = Uint8Array | readonly Uint8Array[];

function ioError(e: unknown, path: string, verb: string): ModelpressError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new ModelpressError('E_NOT_FOUND', `no such file or directory (${verb})`, { file: path, cause: e });
  const why = e instanceof Error ? e.message : String(e);
  return new ModelpressError('E_IO', `cannot ${verb}: ${why}`, { file: path, cause: e });
}

/**
 * Reads a whole regular file; E_NOT_FOUND if missing, E_IO otherwise
 * (directory, FIFO, device, permissions, ...). Never blocks on a FIFO.
 */
export function readFileChecked(path: string): Uint8Array {
  return readInputFile(path);
}

/** Size in bytes of a file, or E_NOT_FOUND. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch (e) {
    throw ioError(e, path, 'stat');
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

let tempCounter = 0;
/** A temp name next to `path` (same directory = same file system, so rename is atomic). */
function tempPathFor(path: string): string {
  tempCounter = (tempCounter + 1) % 1_000_000;
  return join(dirname(path), `.${basename(path)}.${process.pid}.${tempCounter}.tmp`);
}

/** Writes `data` to a new temp file and fsyncs it; removes the temp and throws on failure. */
function writeTemp(temp: string, finalPath: string, data: FileData): void {
  let fd: number | undefined;
  registerTemp(temp);
  try {
    fd = openSync(temp, 'wx', 0o644);
    const chunks = data instanceof Uint8Array ? [data] : data;
    for (const chunk of chunks) {
      let done = 0;
      while (done < chunk.byteLength) done += writeSync(fd, chunk, done, chunk.byteLength - done);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    rmSync(temp, { force: true });
    unregisterTemp(temp);
    throw ioError(e, finalPath, 'write');
  }
}

/** Best-effort fsync of a directory so the rename itself is durable (not supported everywhere). */
function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some platforms cannot open directories; the data is already synced
  }
}

/** Writes `data` to `path` atomically: readers see the old file or the whole new one, never a part. */
export function writeFileAtomic(path: string, data: FileData): void {
  writeFilesAtomic([{ path, data }]);
}

/**
 * Writes several files (e.g. TF.js model.json + shards, ONNX + external data)
 * all-or-nothing as far as a file system allows: every file goes to a temp
 * first; only when all are written and synced are they renamed into place.
 * If a rename fails, the files already renamed are removed again and every
 * remaining temp is deleted, so no partial set of new outputs is left.
 * (A file that existed before and was already replaced keeps its new content:
 * deleting it would lose both versions.)
 */
export function writeFilesAtomic(files: readonly { path: string; data: FileData }[]): void {
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new ModelpressError('E_ARG', 'the same output path is written twice', { file: f.path });
    seen.add(f.path);
  }
  const temps: string[] = [];
  try {
    for (const f of files) {
      const temp = tempPathFor(f.path);
      writeTemp(temp, f.path, f.data);
      temps.push(temp);
    }
  } catch (e) {
    for (const t of temps) {
      rmSync(t, { force: true });
      unregisterTemp(t);
    }
    throw e;
  }
  const existedBefore = new Set(files.filter((f) => exists(f.path)).map((f) => f.path));
  const renamed: string[] = [];
  try {
    files.forEach((f, i) => {
      try {
        renameSync(temps[i]!, f.path);
        unregisterTemp(temps[i]!);
      } catch (e) {
        throw ioError(e, f.path, 'rename into place');
      }
      renamed.push(f.path);
    });
  } catch (e) {
    for (const p of renamed) if (!existedBefore.has(p)) rmSync(p, { force: true });
    for (const t of temps.slice(renamed.length)) {
      rmSync(t, { force: true });
      unregisterTemp(t);
    }
    throw e;
  }
  for (const dir of new Set(files.map((f) => dirname(f.path)))) fsyncDir(dir);
}
