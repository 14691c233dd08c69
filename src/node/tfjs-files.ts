/**
 * TF.js models on disk: a model JSON (any name) with its shard files, whose
 * manifest paths are relative to the JSON's directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ModelpressError, isModelpressError } from '../core/errors.js';
import { readTfjs, type TfjsModel } from '../formats/tfjs/read.js';
import type { TfjsModelJson } from '../formats/tfjs/manifest.js';
import { writeTfjs, type TfjsWriteResult, type TfjsWriteTensor, type WriteTfjsOptions } from '../formats/tfjs/write.js';
import { readFileChecked, writeFilesAtomic } from './fs.js';
import { readInputFile, type OpenInputOptions } from './open.js';

/**
 * The file a manifest path names, relative to the model JSON's directory.
 * Absolute paths, URLs and paths leading out of that directory are refused:
 * a model file must not make us read arbitrary files.
 */
export function resolveTfjsShardPath(jsonPath: string, shardPath: string): string {
  if (shardPath === '' || shardPath.includes('\0') || isAbsolute(shardPath) || /^[a-z][a-z0-9+.-]*:/i.test(shardPath)) {
    throw new ModelpressError(
      'E_UNSUPPORTED',
      `shard path "${shardPath}" is empty, absolute or a URL; only paths relative to the model JSON are read`,
      { file: jsonPath },
    );
  }
  const dir = resolve(dirname(jsonPath));
  const full = resolve(dir, shardPath);
  const rel = relative(dir, full);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new ModelpressError('E_UNSUPPORTED', `shard path "${shardPath}" leads out of the model's directory`, { file: jsonPath });
  }
  return join(dirname(jsonPath), shardPath);
}

/**
 * Reads a TF.js model from the path of its JSON file; shards are read from
 * the JSON's directory as regular files (symbolic links refused unless
 * `followSymlinks`, FIFOs and devices always).
 */
export function readTfjsFile(jsonPath: string, opts: OpenInputOptions = {}): TfjsModel {
  const json = readFileChecked(jsonPath);
  try {
    return readTfjs(json, (p) => readInputFile(resolveTfjsShardPath(jsonPath, p), opts, dirname(jsonPath)), jsonPath);
  } catch (e) {
    throw isModelpressError(e) ? e.withFile(jsonPath) : e;
  }
}

/** The shard prefix of a model JSON: its name without `.json`, then a dot (`model-q.json` -> `model-q.`). */
export function tfjsShardPrefix(jsonPath: string): string {
  return `${basename(jsonPath).replace(/\.json$/i, '')}.`;
}

/** The shard files the TF.js model JSON at `jsonPath` names now, if it exists and parses (its previous version). */
function previousShards(jsonPath: string): Set<string> {
  const out = new Set<string>();
  if (!existsSync(jsonPath)) return out;
  try {
    const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as { weightsManifest?: { paths?: unknown[] }[] };
    for (const group of json.weightsManifest ?? [])
      for (const p of group.paths ?? []) if (typeof p === 'string') out.add(resolve(dirname(jsonPath), p));
  } catch {
    // not a TF.js model JSON: it names no shards of ours
  }
  return out;
}

/**
 * E_ARG if a shard about to be written would replace an existing file that
 * is not a shard of the model JSON at `jsonPath` being replaced.
 */
export function checkShardTargets(jsonPath: string, shardPaths: readonly string[]): void {
  const previous = previousShards(jsonPath);
  for (const p of shardPaths)
    if (existsSync(p) && !previous.has(resolve(p)))
      throw new ModelpressError('E_ARG', `shard ${p} exists and is not part of the model being replaced; it is not overwritten`, {
        file: jsonPath,
      });
}

/**
 * Writes a TF.js model to `jsonPath` plus its shards, named after the JSON
 * (`model-q.json` -> `model-q.group1-shard1of1.bin`, ...) in the same
 * directory, so two models can share a folder. An existing file a shard
 * would replace is refused (E_ARG) unless it is a shard of the model JSON
 * being replaced. All files go to temps first and are renamed into
 * place together, the JSON last; on error nothing new is left behind.
 * Returns what was written, with the shard file paths.
 */
export function writeTfjsFiles(
  jsonPath: string,
  model: TfjsModelJson,
  tensors: readonly TfjsWriteTensor[],
  opts?: WriteTfjsOptions,
): TfjsWriteResult & { readonly shardPaths: string[] } {
  let result: TfjsWriteResult;
  try {
    result = writeTfjs(model, tensors, { shardPrefix: tfjsShardPrefix(jsonPath), ...opts });
  } catch (e) {
    throw isModelpressError(e) ? e.withFile(jsonPath) : e;
  }
  const shardPaths = result.shards.map((s) => join(dirname(jsonPath), s.path));
  if (shardPaths.some((p) => basename(p) === basename(jsonPath))) {
    throw new ModelpressError('E_ARG', 'the model JSON would overwrite one of its own shards', { file: jsonPath });
  }
  checkShardTargets(jsonPath, shardPaths);
  writeFilesAtomic([
    ...result.shards.map((s, i) => ({ path: shardPaths[i]!, data: s.bytes })),
    { path: jsonPath, data: new TextEncoder().encode(result.json) },
  ]);
  return { ...result, shardPaths };
}
