/**
 * Loading any model file modelpress reads (ONNX with external data,
 * safetensors, TF.js JSON + shards) by its content, and saving a loaded model
 * as any of those formats. Every file a model consists of is read through
 * here, so sizes count external data and shards, and errors name the file.
 */
import { create } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, OperatorSetIdProtoSchema, type ModelProto } from 'onnx-buf';
import { fstatSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ModelpressError, fail, isModelpressError } from '../core/errors.js';
import { detectFormat } from '../formats/detect.js';
import {
  PROTOBUF_LIMIT,
  allTensorProtos,
  hasExternalData,
  listOnnxTensors,
  readOnnx,
  tensorToProto,
  writeOnnx,
  type OnnxModel,
} from '../formats/onnx/index.js';
import { readSafetensors, safetensorsDtypeName, writeSafetensors } from '../formats/safetensors.js';
import { readTfjs, tfjsWriteInput, writeTfjs, type TfjsModel, type TfjsModelJson, type TfjsWriteTensor } from '../formats/tfjs/index.js';
import type { FormatName, NamedTensor } from '../formats/types.js';
import { readFileChecked, writeFilesAtomic, type FileData } from './fs.js';
import { readRange, readWhole, withInputFile, type OpenInputOptions } from './open.js';
import { checkShardTargets, tfjsShardPrefix } from './tfjs-files.js';

export interface LoadedModel {
  readonly format: FormatName;
  /** The path the model was loaded from (the .onnx, .safetensors or TF.js JSON file). */
  readonly path: string;
  /** Bytes of every file the model consists of: the main file plus external data files or TF.js shards. */
  readonly sizeBytes: number;
  /** Every file read, main file first. */
  readonly files: readonly string[];
  /** All weights, in file order. */
  readonly tensors: NamedTensor[];
  readonly onnx?: OnnxModel;
  readonly tfjs?: TfjsModel;
  readonly safetensors?: { readonly metadata: Record<string, string> };
}

/**
 * Resolves a file named inside a model (external data `location`, TF.js shard
 * path) against the model's directory; refuses names that leave it, since a
 * model file must not make us read arbitrary files.
 */
function siblingPath(modelPath: string, name: string, what: string): string {
  if (name === '' || isAbsolute(name) || name.includes('\0')) fail('E_CORRUPT', `${what} "${name}" is not a relative file name`, modelPath);
  const dir = resolve(dirname(modelPath));
  const target = resolve(dir, name);
  const rel = relative(dir, target);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
    fail('E_CORRUPT', `${what} "${name}" points outside the model's directory`, modelPath);
  return join(dirname(modelPath), rel);
}

/**
 * Reads sibling files as regular files inside the model's folder (symbolic
 * links refused unless `followSymlinks`; FIFOs and devices always), whole
 * (TF.js shards) or by ranges (ONNX external data, so data files over 2 GiB
 * work and only the tensors' bytes are read), remembering each file's size.
 */
class SiblingReader {
  readonly sizes = new Map<string, number>();
  private readonly whole = new Map<string, Uint8Array>();
  constructor(
    private readonly modelPath: string,
    private readonly what: string,
    private readonly opts: OpenInputOptions,
  ) {}
  private open<T>(name: string, use: (fd: number, path: string) => T): T {
    const p = siblingPath(this.modelPath, name, this.what);
    try {
      return withInputFile(p, this.opts, dirname(this.modelPath), (fd) => {
        if (!this.sizes.has(p)) this.sizes.set(p, fstatSync(fd).size);
        return use(fd, p);
      });
    } catch (e) {
      if (isModelpressError(e) && e.code === 'E_NOT_FOUND') {
        throw new ModelpressError('E_NOT_FOUND', `${this.what} "${name}" named by ${this.modelPath} does not exist`, {
          file: p,
          cause: e,
        });
      }
      throw e;
    }
  }
  read = (name: string): Uint8Array => {
    const cached = this.whole.get(siblingPath(this.modelPath, name, this.what));
    if (cached) return cached;
    return this.open(name, (fd, p) => {
      const bytes = readWhole(fd, p);
      this.whole.set(p, bytes);
      return bytes;
    });
  };
  range = (name: string, offset: number, length: number): Uint8Array => this.open(name, (fd, p) => readRange(fd, offset, length, p));
}

/** How loadModel opens the model's files. */
export type LoadModelOptions = OpenInputOptions;

/** Loads the model at `path`, detecting its format from the content. */
export function loadModel(path: string, opts: LoadModelOptions = {}): LoadedModel {
  const bytes = readFileChecked(path);
  const format = detectFormat(bytes, path);
  switch (format) {
    case 'onnx': {
      const ext = new SiblingReader(path, 'external data file', opts);
      const onnx = readOnnx(bytes, { file: path, readExternal: ext.range });
      const tensors = listOnnxTensors(onnx);
      return finish({ format, path, bytes, siblings: ext.sizes, tensors, onnx });
    }
    case 'safetensors': {
      const st = readSafetensors(bytes, path);
      return finish({ format, path, bytes, siblings: new Map(), tensors: st.tensors, safetensors: { metadata: st.metadata } });
    }
    case 'tfjs': {
      const shards = new SiblingReader(path, 'TF.js weight shard', opts);
      const tfjs = readTfjs(bytes, shards.read, path);
      return finish({ format, path, bytes, siblings: shards.sizes, tensors: tfjs.tensors, tfjs });
    }
    case 'mpz':
      return fail('E_UNSUPPORTED', 'this is a modelpress container (.mpz), not a model: restore it with `modelpress unpack` first', path);
  }
}

function finish(m: {
  format: FormatName;
  path: string;
  bytes: Uint8Array;
  /** Sizes of the sibling files (external data, shards) by path. */
  siblings: Map<string, number>;
  tensors: NamedTensor[];
  onnx?: OnnxModel;
  tfjs?: TfjsModel;
  safetensors?: { metadata: Record<string, string> };
}): LoadedModel {
  let size = m.bytes.byteLength;
  for (const n of m.siblings.values()) size += n;
  return {
    format: m.format,
    path: m.path,
    sizeBytes: size,
    files: [m.path, ...m.siblings.keys()],
    tensors: m.tensors,
    ...(m.onnx ? { onnx: m.onnx } : {}),
    ...(m.tfjs ? { tfjs: m.tfjs } : {}),
    ...(m.safetensors ? { safetensors: m.safetensors } : {}),
  };
}

/** The output format a file name implies: .onnx, .safetensors, .json (TF.js); undefined otherwise. */
export function formatFromExtension(path: string): FormatName | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith('.onnx')) return 'onnx';
  if (lower.endsWith('.safetensors')) return 'safetensors';
  if (lower.endsWith('.json')) return 'tfjs';
  return undefined;
}

export interface SaveResult {
  /** Every file written, main file first. */
  readonly files: { path: string; bytes: number }[];
  /** Things the user should know: skipped tensors, renamed tensors, dtype changes, weights-only outputs. */
  readonly notes: string[];
}

/**
 * Names unique across the model: a name seen before gets its subgraph path
 * prepended ('If_0/then_branch/w'), then a '#2', '#3' suffix if still taken.
 */
function uniqueNames(tensors: readonly NamedTensor[], notes: string[]): { name: string; source: NamedTensor }[] {
  const used = new Set<string>();
  return tensors.map((t) => {
    let name = t.name || 'unnamed';
    if (used.has(name)) {
      const graph = 'graph' in t.location ? t.location.graph : '';
      let candidate = graph ? `${graph}/${name}` : name;
      for (let k = 2; used.has(candidate); k++) candidate = `${graph ? `${graph}/` : ''}${name}#${k}`;
      notes.push(`tensor "${t.name}" (${graph || 'main graph'}) renamed to "${candidate}": the name is used twice`);
      name = candidate;
    }
    used.add(name);
    return { name, source: t };
  });
}

/** IR version and opset written for weights-only ONNX files (IR 10 knows every dtype we carry except int2/uint2/float8e8m0/float4e2m1's newer peers). */
const WEIGHTS_ONLY_IR_VERSION = 10n;
const WEIGHTS_ONLY_OPSET = 21n;

/**
 * A weights-only ONNX model: every tensor as a graph initializer, no nodes,
 * no inputs or outputs. It carries weights faithfully (other ONNX tools can
 * read them) but onnxruntime cannot run it: there is nothing to compute.
 */
function weightsOnlyOnnx(tensors: readonly { name: string; source: NamedTensor }[]): ModelProto {
  const initializer = tensors.map(({ name, source }) => tensorToProto(name, source.tensor));
  return create(ModelProtoSchema, {
    irVersion: WEIGHTS_ONLY_IR_VERSION,
    producerName: 'modelpress',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: WEIGHTS_ONLY_OPSET })],
    graph: create(GraphProtoSchema, { name: 'weights', initializer, docString: 'weights only (no nodes): written by modelpress convert' }),
  });
}

function onnxFiles(
  proto: ModelProto,
  out: string,
  sources: OnnxModel | undefined,
  mustRehome: boolean,
): { path: string; data: FileData }[] {
  let payload = 0; // tensor bytes held inside the protobuf, wherever they sit (initializers, Constant nodes, subgraphs)
  for (const { tensor: tp } of allTensorProtos(proto)) {
    payload +=
      tp.rawData.byteLength +
      4 * (tp.floatData.length + tp.int32Data.length) +
      8 * (tp.int64Data.length + tp.doubleData.length + tp.uint64Data.length);
  }
  if (!mustRehome && payload < PROTOBUF_LIMIT) return [{ path: out, data: writeOnnx(proto, { file: out }) }];
  const location = `${basename(out)}.data`;
  const res = writeOnnx(proto, {
    file: out,
    externalData: {
      location,
      ...(sources?.loadExternal ? { loadExternal: sources.loadExternal } : {}),
      ...(sources?.readExternal ? { readExternal: sources.readExternal } : {}),
    },
  });
  return [
    { path: out, data: res.model },
    { path: join(dirname(out), location), data: res.data },
  ];
}

/** TF.js model JSON for weights that come without a TF.js topology: a graph-model with no nodes. */
const WEIGHTS_ONLY_TFJS: TfjsModelJson = {
  format: 'graph-model',
  generatedBy: 'modelpress',
  convertedBy: 'modelpress convert (weights only, no graph nodes)',
  modelTopology: { node: [], library: {}, versions: {} },
};

/**
 * Writes `model` to `out` as `to`. All files of the output (external data,
 * shards) are written atomically together; on any error nothing is left.
 */
export function saveModel(model: LoadedModel, out: string, to: FormatName): SaveResult {
  const notes: string[] = [];
  let files: { path: string; data: FileData }[];
  try {
    files = encodeModel(model, out, to, notes);
  } catch (e) {
    throw isModelpressError(e) ? e.withFile(out) : e;
  }
  const inputs = new Set(model.files.map((f) => resolve(f)));
  for (const f of files) {
    if (inputs.has(resolve(f.path)))
      fail('E_ARG', 'this output file is also a file of the input model; write to another name or directory', f.path);
  }
  // Siblings (shards, external data) are renamed into place before the main file that names them.
  writeFilesAtomic([...files.slice(1), files[0]!]);
  return {
    files: files.map((f) => ({
      path: f.path,
      bytes: f.data instanceof Uint8Array ? f.data.byteLength : f.data.reduce((s, c) => s + c.byteLength, 0),
    })),
    notes,
  };
}

function encodeModel(model: LoadedModel, out: string, to: FormatName, notes: string[]): { path: string; data: FileData }[] {
  switch (to) {
    case 'onnx': {
      if (model.onnx) {
        // Re-homing is needed when external data would otherwise be left behind in the input's directory.
        return onnxFiles(model.onnx.proto, out, model.onnx, hasExternalData(model.onnx.proto));
      }
      notes.push(
        'weights-only ONNX: every tensor is a graph initializer; the graph has no nodes, inputs or outputs, so it holds the weights but onnxruntime cannot run it',
      );
      return onnxFiles(weightsOnlyOnnx(uniqueNames(model.tensors, notes)), out, undefined, false);
    }
    case 'safetensors': {
      const keep = model.tensors.filter((t) => {
        if (safetensorsDtypeName(t.tensor.dtype) !== undefined) return true;
        notes.push(`tensor "${t.name}" skipped: safetensors has no ${t.tensor.dtype} dtype`);
        return false;
      });
      const named = uniqueNames(keep, notes);
      const metadata: Record<string, string> = { ...(model.safetensors?.metadata ?? {}) };
      if (model.format !== 'safetensors') metadata['modelpress.source_format'] = model.format;
      return [
        {
          path: out,
          data: writeSafetensors(
            named.map(({ name, source }) => ({ name, tensor: source.tensor })),
            metadata,
          ),
        },
      ];
    }
    case 'tfjs': {
      let result: ReturnType<typeof writeTfjs>;
      const shardPrefix = tfjsShardPrefix(out);
      if (model.tfjs) result = writeTfjs(model.tfjs.modelJson, tfjsWriteInput(model.tfjs), { shardPrefix });
      else {
        notes.push('weights-only TF.js graph-model: the weights manifest is complete, the graph has no nodes');
        const input: TfjsWriteTensor[] = uniqueNames(model.tensors, notes).map(({ name, source }) => ({ name, tensor: source.tensor }));
        result = writeTfjs(WEIGHTS_ONLY_TFJS, input, { shardPrefix });
      }
      for (const c of result.conversions) notes.push(`tensor "${c.name}" stored as ${c.to} (TF.js has no ${c.from})`);
      const dir = dirname(out);
      checkShardTargets(
        out,
        result.shards.map((s) => join(dir, s.path)),
      );
      return [
        { path: out, data: new TextEncoder().encode(result.json) },
        ...result.shards.map((s) => ({ path: join(dir, s.path), data: s.bytes })),
      ];
    }
  }
}
