/**
 * ONNX external data (TensorProto.data_location = EXTERNAL): parsing the
 * `external_data` key/value entries and reading a tensor's bytes through a
 * caller-supplied loader. Browser-safe: the loaders decide where bytes come
 * from (src/node/onnx-external.ts reads files next to the model).
 */
import { create } from '@bufbuild/protobuf';
import { StringStringEntryProtoSchema, TensorProto_DataLocation, type TensorProto } from 'onnx-buf';
import { fail } from '../../core/errors.js';

/** Returns the whole content of an external data file, `location` as written in the model (relative to the model's directory). */
export type ExternalLoader = (location: string) => Uint8Array;

/**
 * Returns exactly `length` bytes of an external data file starting at byte
 * `offset`; used in preference to an {@link ExternalLoader} so files over
 * 2 GB need not be loaded whole. May return fewer bytes if the file is short.
 */
export type ExternalRangeReader = (location: string, offset: number, length: number) => Uint8Array;

/** Where a tensor's bytes live in an external file. */
export interface ExternalDataInfo {
  /** Path relative to the model file's directory, as stored in the model. */
  readonly location: string;
  /** Byte offset in the file (default 0). */
  readonly offset: number;
  /** Byte length, when the model states it. */
  readonly length: number | undefined;
  /** SHA-1 hex digest of the whole file, when the model states it (not verified). */
  readonly checksum: string | undefined;
}

/** Ways to get external bytes; `readExternal` wins when both are given. */
export interface ExternalSources {
  readonly loadExternal?: ExternalLoader | undefined;
  readonly readExternal?: ExternalRangeReader | undefined;
}

export function isExternal(tp: TensorProto): boolean {
  return tp.dataLocation === TensorProto_DataLocation.EXTERNAL;
}

function parseCount(value: string, key: string, label: string, file?: string): number {
  if (!/^[0-9]+$/.test(value)) fail('E_CORRUPT', `${label}: external_data ${key} "${value}" is not a non-negative integer`, file);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) fail('E_CORRUPT', `${label}: external_data ${key} ${value} is too large`, file);
  return n;
}

/** Parses and checks a tensor's `external_data` entries. */
export function externalDataInfo(tp: TensorProto, label: string, file?: string): ExternalDataInfo {
  let location: string | undefined;
  let offset = 0;
  let length: number | undefined;
  let checksum: string | undefined;
  for (const { key, value } of tp.externalData) {
    switch (key) {
      case 'location':
        location = value;
        break;
      case 'offset':
        offset = parseCount(value, key, label, file);
        break;
      case 'length':
        length = parseCount(value, key, label, file);
        break;
      case 'checksum':
        checksum = value;
        break;
      default:
        break; // unknown keys are kept in the proto and ignored here, as onnx does
    }
  }
  if (!location) fail('E_CORRUPT', `${label}: data_location is EXTERNAL but external_data has no "location"`, file);
  if (location.split(/[\\/]/).includes('..') || location.startsWith('/') || /^[a-zA-Z]:/.test(location)) {
    fail('E_CORRUPT', `${label}: external_data location "${location}" leaves the model's directory`, file);
  }
  return { location, offset, length, checksum };
}

/** Reads `expected` bytes of an external tensor, checking the stated length and the file size. */
export function readExternalBytes(
  info: ExternalDataInfo,
  expected: number,
  label: string,
  sources: ExternalSources,
  file?: string,
): Uint8Array {
  if (info.length !== undefined && info.length !== expected) {
    fail('E_CORRUPT', `${label}: external_data length ${info.length} but the tensor needs ${expected} bytes`, file);
  }
  const where = `external file "${info.location}"`;
  if (sources.readExternal) {
    const got = sources.readExternal(info.location, info.offset, expected);
    if (got.byteLength < expected) {
      fail(
        'E_TRUNCATED',
        `${label}: ${where} ends ${expected - got.byteLength} bytes early (needs bytes ${info.offset}..${info.offset + expected})`,
        file,
      );
    }
    return got.byteLength === expected ? got : got.subarray(0, expected);
  }
  if (sources.loadExternal) {
    const whole = sources.loadExternal(info.location);
    if (info.offset + expected > whole.byteLength) {
      fail(
        'E_TRUNCATED',
        `${label}: ${where} has ${whole.byteLength} bytes, the tensor needs bytes ${info.offset}..${info.offset + expected}`,
        file,
      );
    }
    return whole.subarray(info.offset, info.offset + expected);
  }
  return fail(
    'E_ARG',
    `${label}: data is in ${where} but no way to read external files was given (pass loadExternal, or use readOnnxFile)`,
    file,
  );
}

/** Points `tp` at `location`/`offset`/`length`, dropping any in-proto payload. Mutates `tp`. */
export function setExternal(tp: TensorProto, location: string, offset: number, length: number): void {
  delete (tp as { rawData?: unknown }).rawData; // back to "not set" so no empty raw_data field is written
  tp.floatData = [];
  tp.int32Data = [];
  tp.int64Data = [];
  tp.doubleData = [];
  tp.uint64Data = [];
  tp.externalData = [
    create(StringStringEntryProtoSchema, { key: 'location', value: location }),
    create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
    create(StringStringEntryProtoSchema, { key: 'length', value: String(length) }),
  ];
  tp.dataLocation = TensorProto_DataLocation.EXTERNAL;
}

/** Puts `bytes` back into `tp` as raw_data and removes the external reference. Mutates `tp`. */
export function setInternal(tp: TensorProto, bytes: Uint8Array): void {
  tp.rawData = bytes as Uint8Array<ArrayBuffer>;
  tp.externalData = [];
  delete (tp as { dataLocation?: unknown }).dataLocation;
}
