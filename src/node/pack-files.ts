/**
 * File-system side of pack/unpack: load a model's files (ONNX, safetensors,
 * or TF.js model.json + shards) as a PackInput, and write unpacked files
 * atomically next to the requested output path.
 */
import { lstatSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ModelpressError, fail } from '../core/errors.js';
import type { UnpackedModel } from '../codec/container/assemble.js';
import { hasMpzMagic } from '../codec/container/format.js';
import { checkRelativePath } from '../codec/container/index-codec.js';
import type { SourceFormat } from '../codec/container/layout.js';
import type { PackInput } from '../codec/container/pack.js';
import { detectFormat } from '../formats/detect.js';
import { onnxExternalRefs } from '../formats/onnx/layout.js';
import { tfjsShardPaths } from '../formats/tfjs/layout.js';
import { readFileChecked, writeFilesAtomic } from './fs.js';
import { readInputFile, type OpenInputOptions } from './open.js';

/** The model format, from the content (the extension only breaks ties), as every command detects it. */
export function guessFormat(path: string, bytes: Uint8Array): SourceFormat {
  const f = detectFormat(bytes, path);
  if (f === 'mpz') fail('E_ARG', 'is already an .mpz container (unpack it first)', path);
  return f;
}

/** Reads a model for packing; TF.js shards are read from the JSON's directory in manifest order. */
export function loadModelFiles(path: string, opts: OpenInputOptions = {}): PackInput {
  const bytes = readFileChecked(path);
  if (hasMpzMagic(bytes)) fail('E_ARG', 'is already an .mpz container (unpack it first)', path);
  const format = guessFormat(path, bytes);
  if (format === 'onnx') return loadOnnxFiles(path, bytes, opts);
  if (format !== 'tfjs') return { format, files: [{ name: '', bytes }] };
  let shardPaths: string[];
  try {
    shardPaths = tfjsShardPaths(bytes);
  } catch (e) {
    throw e instanceof ModelpressError ? e.withFile(path) : e;
  }
  const dir = dirname(path);
  const files = [{ name: basename(path), bytes }];
  for (const p of shardPaths) {
    try {
      checkRelativePath(p);
    } catch {
      fail('E_UNSUPPORTED', `TF.js shard path '${p}' is not a plain relative path`, path);
    }
    files.push({ name: p, bytes: readInputFile(join(dir, p), opts, dir) });
  }
  return { format, files };
}

/** An ONNX model and, if its tensors refer to external data, those files (by their relative `location`). */
function loadOnnxFiles(path: string, bytes: Uint8Array, opts: OpenInputOptions): PackInput {
  let locations: string[];
  try {
    locations = [...new Set(onnxExternalRefs(bytes).map((r) => r.location))];
  } catch {
    // not parseable: packModel stores it whole and reports why
    return { format: 'onnx', files: [{ name: '', bytes }] };
  }
  if (locations.length === 0) return { format: 'onnx', files: [{ name: '', bytes }] };
  const files = [{ name: basename(path), bytes }];
  for (const location of locations) {
    try {
      checkRelativePath(location);
    } catch {
      fail('E_UNSUPPORTED', `external data location '${location}' is not a plain relative path`, path);
    }
    if (location === basename(path)) fail('E_UNSUPPORTED', `external data location '${location}' is the model file itself`, path);
    files.push({ name: location, bytes: readInputFile(join(dirname(path), location), opts, dirname(path)) });
  }
  return { format: 'onnx', files };
}

/**
 * Writes unpacked files: a single-file model to `outPath`; a TF.js model's
 * JSON (or an ONNX model with external data) to `outPath` and the other
 * files under `outPath`'s directory by their relative names. All or nothing.
 */
export function writeUnpacked(outPath: string, model: UnpackedModel, opts: { readonly force?: boolean } = {}): string[] {
  const dir = dirname(outPath);
  const targets = model.files.map((f, i) => {
    if (i === 0) return { path: outPath, data: f.bytes };
    checkRelativePath(f.name, outPath);
    const path = join(dir, f.name);
    checkSecondaryTarget(dir, f.name, path, opts.force === true);
    return { path, data: f.bytes };
  });
  writeFilesAtomic(targets);
  return targets.map((t) => t.path);
}

/**
 * A file the container names besides the output (external data, shards) is
 * written only below the output's folder, never through a symbolic link on
 * the way (a linked subfolder would lead outside it), and never over an
 * existing file unless `force`: the names come from the .mpz, not from the
 * user, so `.bashrc` or `.git/config` must not be replaced silently.
 */
function checkSecondaryTarget(dir: string, name: string, path: string, force: boolean): void {
  let at = dir;
  for (const part of name.split('/')) {
    at = join(at, part);
    let st: ReturnType<typeof lstatSync> | undefined;
    try {
      st = lstatSync(at);
    } catch {
      break; // missing from here on: nothing to follow or overwrite
    }
    if (st.isSymbolicLink())
      fail('E_ARG', `the container's file '${name}' would be written through the symbolic link ${at}; refused`, path);
    if (at === path && !force)
      fail('E_ARG', `the container's file '${name}' would overwrite an existing file; pass --force to replace it`, path);
  }
}
