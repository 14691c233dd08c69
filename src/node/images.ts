/**
 * Image folders as data: PNG and JPEG files (decoded by pngjs and jpeg-js,
 * pure JS) preprocessed into one float32 sample each (data/image.ts).
 *
 * - Labels: a folder whose entries are subfolders is a class folder; each
 *   subfolder (sorted by name) is a class, label = its index. A flat folder
 *   is unlabelled unless it holds `labels.txt`: one integer per line, for the
 *   images in sorted file-name order.
 * - Order: flat folders in sorted file-name order; class folders interleaved
 *   (the first image of every class, then the second ...), so --limit keeps
 *   every class.
 * - Preprocessing: the --preprocess file when given, else `preprocess.json`
 *   in the folder, else defaults from the model input's shape.
 * - Only the selected images (split, then --limit) are read and decoded, one
 *   at a time into the output: memory is the output tensor plus one image.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { elementCount } from '../core/dtypes.js';
import { ModelpressError } from '../core/errors.js';
import { floatDataset, type Dataset } from '../data/dataset.js';
import {
  imageToSample,
  parsePreprocess,
  preprocessShape,
  resolvePreprocess,
  type ImagePreprocess,
  type ResolvedImagePreprocess,
} from '../data/image.js';
import { readInputFile } from './open.js';

/** Extensions read as images (case-insensitive). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;
/** Largest image decoded, in pixels (64 megapixels): bigger ones are an E_LIMIT, not an allocation failure. */
export const MAX_IMAGE_PIXELS = 64 * 1024 * 1024;

const isImage = (name: string): boolean => (IMAGE_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());

/** The images of a folder in load order, with labels and class names when it has them. */
export interface ImageListing {
  readonly dir: string;
  readonly files: readonly string[];
  readonly labels: Int32Array | undefined;
  /** Class folder names, index = label. */
  readonly classes: readonly string[] | undefined;
}

/** True when `path` is a directory (a folder data spec). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Lists a folder's images by the rules of the file comment. */
export function listImageFolder(dir: string): ImageListing {
  const entries = readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const subdirs = entries.filter((e) => e.isDirectory());
  const images = entries.filter((e) => !e.isDirectory() && isImage(e.name)).map((e) => join(dir, e.name));
  if (subdirs.length > 0) {
    if (images.length > 0)
      throw new ModelpressError(
        'E_FORMAT',
        `holds both images (${basename(images[0]!)}) and subfolders (${subdirs[0]!.name}); put every image in a class subfolder, or none`,
        { file: dir },
      );
    const classes = subdirs.map((d) => d.name);
    const perClass = classes.map((c) =>
      readdirSync(join(dir, c))
        .filter((n) => !n.startsWith('.') && isImage(n))
        .sort()
        .map((n) => join(dir, c, n)),
    );
    const empty = classes.filter((_, i) => perClass[i]!.length === 0);
    if (empty.length)
      throw new ModelpressError(
        'E_NOT_FOUND',
        `class folder${empty.length > 1 ? 's' : ''} ${empty.join(', ')} hold no PNG or JPEG images`,
        { file: dir },
      );
    const files: string[] = [];
    const labels: number[] = [];
    const longest = Math.max(...perClass.map((p) => p.length));
    for (let k = 0; k < longest; k++)
      perClass.forEach((p, c) => {
        if (k < p.length) {
          files.push(p[k]!);
          labels.push(c);
        }
      });
    return { dir, files, labels: Int32Array.from(labels), classes };
  }
  if (images.length === 0)
    throw new ModelpressError('E_NOT_FOUND', 'folder holds no PNG or JPEG images (.png, .jpg, .jpeg)', { file: dir });
  const labelsFile = join(dir, 'labels.txt');
  if (!existsSync(labelsFile)) return { dir, files: images, labels: undefined, classes: undefined };
  const lines = new TextDecoder()
    .decode(readInputFile(labelsFile))
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const labels = Int32Array.from(lines, (l, i) => {
    const n = Number(l);
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1)
      throw new ModelpressError('E_FORMAT', `line ${i + 1} is "${l}", not a non-negative integer label`, { file: labelsFile });
    return n;
  });
  if (labels.length !== images.length)
    throw new ModelpressError(
      'E_SHAPE',
      `${labels.length} labels for the folder's ${images.length} images (one integer per line, images in sorted name order)`,
      { file: labelsFile },
    );
  return { dir, files: images, labels, classes: undefined };
}

/** A decoded image: RGBA bytes. */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
}

/** Decodes a PNG or JPEG file (by content, not extension); E_CORRUPT naming the file when it cannot. */
export function decodeImage(path: string): DecodedImage {
  const bytes = readInputFile(path);
  const corrupt = (why: string, cause?: unknown): never => {
    throw new ModelpressError('E_CORRUPT', `image cannot be decoded: ${why}`, { file: path, cause });
  };
  const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (isPng) {
    // IHDR's size first, so a huge declared image is refused before pngjs allocates it.
    if (bytes.length < 24) corrupt(`a PNG of ${bytes.length} bytes has no header`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const pixels = view.getUint32(16) * view.getUint32(20);
    if (pixels > MAX_IMAGE_PIXELS)
      throw new ModelpressError('E_LIMIT', `image declares ${pixels} pixels, over the ${MAX_IMAGE_PIXELS} decoded`, { file: path });
    try {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    } catch (e) {
      return corrupt(`PNG: ${(e as Error).message}`, e);
    }
  }
  if (isJpeg) {
    try {
      const img = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        tolerantDecoding: false,
        maxResolutionInMP: MAX_IMAGE_PIXELS / 1024 / 1024,
        maxMemoryUsageInMB: 1024,
      });
      if (!(img.width > 0 && img.height > 0) || img.data.length !== img.width * img.height * 4) corrupt('JPEG has no pixels');
      return { width: img.width, height: img.height, rgba: img.data };
    } catch (e) {
      if (e instanceof ModelpressError) throw e;
      const msg = (e as Error).message ?? String(e);
      if (/maxResolutionInMP|maxMemoryUsageInMB/.test(msg))
        throw new ModelpressError('E_LIMIT', `image is over the ${MAX_IMAGE_PIXELS} pixels decoded: ${msg}`, { file: path, cause: e });
      return corrupt(`JPEG: ${msg}`, e);
    }
  }
  return corrupt(`neither PNG nor JPEG (first bytes ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
}

export interface ImageFolderOptions {
  /** --preprocess: a JSON file; wins over the folder's preprocess.json. */
  preprocessFile?: string | undefined;
  /** The model input the images are for (its shape sets size, layout and channels unless the JSON does). */
  inputShape?: readonly (number | string)[] | undefined;
  /** Selects the listing positions to load (a split), in order; default all. */
  select?: ((count: number) => ArrayLike<number>) | undefined;
  /** Load only the first n selected images. */
  limit?: number | undefined;
  /** Name in reports (default the folder). */
  name?: string | undefined;
}

/** The preprocessing JSON that applies to `dir` (see the file comment), or none. */
export function folderPreprocess(dir: string, file?: string): { pre: ImagePreprocess; from: string | undefined } {
  const path = file ?? (existsSync(join(dir, 'preprocess.json')) ? join(dir, 'preprocess.json') : undefined);
  if (path === undefined) return { pre: {}, from: undefined };
  if (!existsSync(path)) throw new ModelpressError('E_NOT_FOUND', 'preprocessing file does not exist', { file: path });
  return { pre: parsePreprocess(new TextDecoder().decode(readInputFile(path)), path), from: path };
}

/** Loads a folder of images as a preprocessed float32 dataset. */
export function loadImageFolder(dir: string, options: ImageFolderOptions = {}): Dataset & { preprocess: ResolvedImagePreprocess } {
  const listing = listImageFolder(dir);
  const { pre, from } = folderPreprocess(dir, options.preprocessFile);
  let picked: ArrayLike<number> = options.select
    ? options.select(listing.files.length)
    : Uint32Array.from({ length: listing.files.length }, (_, i) => i);
  if (options.limit !== undefined && options.limit < picked.length)
    picked = Array.prototype.slice.call(picked, 0, options.limit) as number[];
  if (picked.length === 0) throw new ModelpressError('E_NOT_FOUND', "the split selects none of the folder's images", { file: dir });
  const first = decodeImage(listing.files[picked[0]!]!);
  let resolved: ResolvedImagePreprocess;
  try {
    resolved = resolvePreprocess(pre, options.inputShape, first);
  } catch (e) {
    if (e instanceof ModelpressError) throw e.withFile(from ?? dir);
    throw e;
  }
  const shape = preprocessShape(resolved);
  const per = elementCount(shape);
  const bytes = picked.length * per * 4;
  if (bytes > 2 ** 31)
    throw new ModelpressError(
      'E_LIMIT',
      `${picked.length} images of [${shape.join(', ')}] would take ${bytes} bytes; load fewer with --limit`,
      { file: dir },
    );
  const values = new Float32Array(picked.length * per);
  for (let k = 0; k < picked.length; k++) {
    const img = k === 0 ? first : decodeImage(listing.files[picked[k]!]!);
    imageToSample(img.rgba, img.width, img.height, resolved, values, k * per);
  }
  const labels = listing.labels ? Int32Array.from(picked, (i) => listing.labels![i]!) : undefined;
  const ds = floatDataset(values, shape, labels, options.name ?? dir);
  return { ...ds, file: dir, preprocessed: true, preprocess: resolved };
}
