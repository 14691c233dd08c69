/**
 * Opening input files as regular files only. A model names other files
 * (ONNX external data, TF.js shards); those are resolved inside the model's
 * folder, and a symbolic link anywhere below that folder (the file itself or
 * a directory on the way) is refused unless the caller passes
 * `followSymlinks`, so a model cannot make us read /etc/passwd through a link
 * (the class of ONNX's CVE-2022-25882). FIFOs, devices, sockets and
 * directories are always refused: the open never blocks (O_NONBLOCK) and the
 * opened descriptor is checked with fstat.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { ModelpressError } from '../core/errors.js';

export interface OpenInputOptions {
  /** Allow symbolic links below the model's folder (never FIFOs, devices, sockets or directories). */
  readonly followSymlinks?: boolean | undefined;
}

/** The largest file read whole; bigger files must be read by ranges. */
const WHOLE_FILE_LIMIT = 2 ** 31 - 1;

function kindOf(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isFIFO()) return 'is a FIFO, not a regular file';
  if (st.isDirectory()) return 'is a directory, expected a file';
  if (st.isSocket()) return 'is a socket, not a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'is a device, not a regular file';
  return 'is not a regular file';
}

function openError(e: unknown, path: string): ModelpressError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new ModelpressError('E_NOT_FOUND', 'no such file or directory (open)', { file: path, cause: e });
  if (code === 'ELOOP') return symlinkError(path);
  const why = e instanceof Error ? e.message : String(e);
  return new ModelpressError('E_IO', `cannot open: ${why}`, { file: path, cause: e });
}

function symlinkError(path: string, component?: string): ModelpressError {
  const where = component && component !== path ? `is inside ${component}, which` : '';
  return new ModelpressError('E_IO', `${where} is a symbolic link; pass --follow-symlinks to allow`.trimStart(), { file: path });
}

/** Refuses a symbolic link on any path component of `path` below `base` (the model's folder). */
function checkNoSymlinks(path: string, base: string): void {
  const rel = relative(base, path);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) return; // not below base: only the final open applies
  let cur = base;
  for (const part of rel.split(sep)) {
    cur = join(cur, part);
    let st: Stats;
    try {
      st = lstatSync(cur);
    } catch (e) {
      throw openError(e, path);
    }
    if (st.isSymbolicLink()) throw symlinkError(path, cur);
  }
}

/**
 * Opens `path` for reading as a regular file and returns the descriptor.
 * With `base` (the model's folder), symbolic links below it are refused
 * unless `opts.followSymlinks`. Never blocks on a FIFO.
 */
export function openInputFile(path: string, opts: OpenInputOptions = {}, base?: string): number {
  const noFollow = base !== undefined && !opts.followSymlinks;
  if (noFollow) checkNoSymlinks(path, base);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (noFollow ? constants.O_NOFOLLOW : 0));
  } catch (e) {
    throw openError(e, path);
  }
  try {
    const why = kindOf(fstatSync(fd));
    if (why) throw new ModelpressError('E_IO', why, { file: path });
  } catch (e) {
    closeSync(fd);
    throw e instanceof ModelpressError ? e : openError(e, path);
  }
  return fd;
}

/** Runs `use` on a descriptor from openInputFile and closes it afterwards. */
export function withInputFile<T>(path: string, opts: OpenInputOptions, base: string | undefined, use: (fd: number) => T): T {
  const fd = openInputFile(path, opts, base);
  try {
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads up to `length` bytes at `offset` of an open file (fewer at its end). */
export function readRange(fd: number, offset: number, length: number, path: string): Uint8Array {
  const size = fstatSync(fd).size;
  const n = Math.max(0, Math.min(length, size - offset));
  const out = new Uint8Array(n);
  let done = 0;
  try {
    while (done < n) {
      const got = readSync(fd, out, done, n - done, offset + done);
      if (got === 0) break;
      done += got;
    }
  } catch (e) {
    throw new ModelpressError('E_IO', `cannot read: ${e instanceof Error ? e.message : String(e)}`, { file: path, cause: e });
  }
  return done === n ? out : out.subarray(0, done);
}

/** Reads the whole of an open file; files over 2 GiB are refused (read those by ranges). */
export function readWhole(fd: number, path: string): Uint8Array {
  const size = fstatSync(fd).size;
  if (size > WHOLE_FILE_LIMIT)
    throw new ModelpressError('E_IO', `is ${size} bytes, over the 2 GiB a file can be read whole`, { file: path });
  return readRange(fd, 0, size, path);
}

/** Reads a whole regular file (see openInputFile and readWhole). */
export function readInputFile(path: string, opts: OpenInputOptions = {}, base?: string): Uint8Array {
  return withInputFile(path, opts, base, (fd) => readWhole(fd, path));
}

/** Size of a regular input file (see openInputFile). */
export function inputFileSize(path: string, opts: OpenInputOptions = {}, base?: string): number {
  return withInputFile(path, opts, base, (fd) => fstatSync(fd).size);
}
