/**
 * ONNX files on disk with external data: reading resolves each tensor's
 * `location` relative to the model's directory (ranged reads, so data files
 * over 2 GB work), writing puts the .onnx and its data file in place
 * atomically (temp + rename, all-or-nothing).
 */
import { fstatSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ModelProto } from 'onnx-buf';
import { byteLength } from '../core/dtypes.js';
import { ModelpressError, isModelpressError } from '../core/errors.js';
import {
  allTensorProtos,
  checkTensorProto,
  describeSlot,
  externalDataInfo,
  hasExternalData,
  isExternal,
  PROTOBUF_LIMIT,
  readOnnx,
  writeOnnx,
  type ExternalDataOptions,
  type ExternalRangeReader,
  type OnnxModel,
} from '../formats/onnx/index.js';
import { readFileChecked, writeFilesAtomic } from './fs.js';
import { readRange, withInputFile, type OpenInputOptions } from './open.js';

function externalError(code: 'E_NOT_FOUND' | 'E_IO', modelPath: string, location: string, full: string, e: unknown): ModelpressError {
  const why = code === 'E_NOT_FOUND' ? 'not found' : `cannot be read (${e instanceof Error ? e.message : String(e)})`;
  return new ModelpressError(code, `external data file "${location}" (${full}) ${why}`, { file: modelPath, cause: e });
}

/** Opens external file `full` as a regular file inside the model's folder: E_NOT_FOUND when it is missing, E_IO otherwise. */
function withExternal<T>(modelPath: string, location: string, opts: OpenInputOptions, use: (fd: number, full: string) => T): T {
  const full = join(dirname(modelPath), location);
  try {
    return withInputFile(full, opts, dirname(modelPath), (fd) => use(fd, full));
  } catch (e) {
    if (isModelpressError(e) && e.code === 'E_NOT_FOUND') throw externalError('E_NOT_FOUND', modelPath, location, full, e);
    if (isModelpressError(e)) throw new ModelpressError(e.code, `external data file "${location}" ${e.message}`, { file: full, cause: e });
    throw externalError('E_IO', modelPath, location, full, e);
  }
}

/** A ranged reader for external files next to `modelPath` (regular files only, see openInputFile). */
export function externalReaderFor(modelPath: string, opts: OpenInputOptions = {}): ExternalRangeReader {
  return (location, offset, length) => withExternal(modelPath, location, opts, (fd, full) => readRange(fd, offset, length, full));
}

/** Sizes of external files, looked up once each. */
function externalFileSize(modelPath: string, location: string, cache: Map<string, number>, opts: OpenInputOptions): number {
  const cached = cache.get(location);
  if (cached !== undefined) return cached;
  const size = withExternal(modelPath, location, opts, (fd) => fstatSync(fd).size);
  cache.set(location, size);
  return size;
}

/**
 * Reads an ONNX file. External data files are checked up front (present and
 * long enough for every tensor that points into them: E_NOT_FOUND /
 * E_TRUNCATED naming the model and the data file) and read on demand by
 * listOnnxTensors.
 */
export function readOnnxFile(path: string, opts: { readonly validate?: boolean | undefined } & OpenInputOptions = {}): OnnxModel {
  const bytes = readFileChecked(path);
  const model = readOnnx(bytes, { file: path, readExternal: externalReaderFor(path, opts), validate: opts.validate });
  const sizes = new Map<string, number>();
  for (const { tensor, slot, part } of allTensorProtos(model.proto)) {
    if (!isExternal(tensor)) continue;
    const where = describeSlot(slot, part);
    const label = `tensor '${tensor.name}' (${where})`;
    const info = externalDataInfo(tensor, label, path);
    const layout = checkTensorProto(tensor, { file: path, where });
    const need = info.offset + byteLength(layout.dtype, layout.count);
    const size = externalFileSize(path, info.location, sizes, opts);
    if (size < need) {
      throw new ModelpressError(
        'E_TRUNCATED',
        `${label}: external data file "${info.location}" has ${size} bytes, the tensor needs bytes ${info.offset}..${need}`,
        { file: path },
      );
    }
  }
  return model;
}

/** The files an ONNX model read from `path` consists of: `path` and each external data file it names (once each, resolved next to it). */
export function onnxModelFiles(path: string, proto: ModelProto): string[] {
  const files = new Set<string>([path]);
  for (const { tensor, slot, part } of allTensorProtos(proto)) {
    if (!isExternal(tensor)) continue;
    files.add(join(dirname(path), externalDataInfo(tensor, `tensor '${tensor.name}' (${describeSlot(slot, part)})`, path).location));
  }
  return [...files];
}

export interface WriteOnnxFileOptions {
  /**
   * Store tensor payloads in a separate data file. `true` uses the defaults:
   * location '<model file name>.data', sizeThreshold 1024 bytes, align 4096.
   * Default: off, except that a model that already had external data keeps
   * it (re-homed next to the new file) and a model whose payloads would pass
   * protobuf's 2 GiB limit gets it automatically.
   */
  readonly externalData?: boolean | Partial<Omit<ExternalDataOptions, 'sink' | 'loadExternal' | 'readExternal'>> | undefined;
}

function payloadBytes(proto: ModelProto): number {
  let n = 0;
  for (const { tensor: t } of allTensorProtos(proto)) {
    n +=
      t.rawData.byteLength +
      4 * t.floatData.length +
      5 * t.int32Data.length +
      8 * (t.int64Data.length + t.doubleData.length + t.uint64Data.length);
  }
  return n;
}

/**
 * Writes a model to `path` atomically, with its external data file when
 * external data is used (see WriteOnnxFileOptions). Pass the OnnxModel from
 * readOnnxFile (not just its proto) when the model has external data, so
 * the payloads can be read from the old data file.
 */
export function writeOnnxFile(
  path: string,
  model: ModelProto | OnnxModel,
  opts: WriteOnnxFileOptions = {},
): { dataFile?: string; dataBytes: number } {
  const isModel = 'proto' in model;
  const proto = isModel ? model.proto : model;
  const sources = isModel ? { loadExternal: model.loadExternal, readExternal: model.readExternal } : {};
  let ext = opts.externalData;
  if (ext === undefined && (hasExternalData(proto) || payloadBytes(proto) > PROTOBUF_LIMIT)) ext = true;
  if (!ext) {
    writeFilesAtomic([{ path, data: writeOnnx(proto, { file: path }) }]);
    return { dataBytes: 0 };
  }
  const given = ext === true ? {} : ext;
  const location = given.location ?? `${basename(path)}.data`;
  const dataPath = join(dirname(path), location);
  if (resolve(dataPath) === resolve(path))
    throw new ModelpressError('E_ARG', `external data location "${location}" is the model file itself`, { file: path });
  const out = writeOnnx(proto, { file: path, externalData: { ...given, ...sources, location } });
  if (out.movedTensors === 0) {
    writeFilesAtomic([{ path, data: out.model }]);
    return { dataBytes: 0 };
  }
  // Data file first in the list: if anything fails, neither file is left behind.
  writeFilesAtomic([
    { path: dataPath, data: out.data },
    { path, data: out.model },
  ]);
  return { dataFile: dataPath, dataBytes: out.dataBytes };
}
