/**
 * Image preprocessing for image-folder data: decoded RGBA pixels to one model
 * input sample. Resize (bilinear, pixel centres aligned like OpenCV's
 * INTER_LINEAR and PyTorch's align_corners=False, no antialiasing), optional
 * resize-then-centre-crop, channel order (RGB, BGR, grey), layout (CHW or
 * HWC), then (pixel · scale − mean[c]) / std[c]. The settings come from a
 * small JSON file (`parsePreprocess`) and/or the model's input shape.
 */
import { ModelpressError } from '../core/errors.js';

export type ImageLayout = 'nchw' | 'nhwc';
export type ChannelOrder = 'rgb' | 'bgr' | 'gray';

/** The preprocessing JSON (every field optional; docs/CLI.md "Data specs"). */
export interface ImagePreprocess {
  /** Output [height, width]; default the model input's fixed H×W, else the images' own (all must match). */
  readonly size?: readonly [number, number] | undefined;
  /** 'stretch' (default): resize to `size`; 'crop': resize the shorter side to `resize` (default the larger of size), then centre-crop `size`. */
  readonly fit?: 'stretch' | 'crop' | undefined;
  /** With fit 'crop': the shorter side before cropping (e.g. 256 for a 224 crop). */
  readonly resize?: number | undefined;
  /** Default: from the model's input shape (channel axis of size 1 or 3), else 'nchw'. */
  readonly layout?: ImageLayout | undefined;
  /** Default: 'gray' for a 1-channel input, else 'rgb'. */
  readonly channels?: ChannelOrder | undefined;
  /** Multiplier of the 0-255 pixels; default 1/255. */
  readonly scale?: number | undefined;
  /** Subtracted after scaling: one value or one per channel; default 0. */
  readonly mean?: readonly number[] | undefined;
  /** Divides after the mean: one value or one per channel; default 1. */
  readonly std?: readonly number[] | undefined;
}

const KEYS = ['size', 'fit', 'resize', 'layout', 'channels', 'scale', 'mean', 'std'];

/** Parses and checks a preprocessing JSON text (E_FORMAT naming `file` and the field). */
export function parsePreprocess(text: string, file: string): ImagePreprocess {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelpressError('E_FORMAT', `preprocessing file is not JSON: ${(e as Error).message}`, { file, cause: e });
  }
  const bad = (why: string): never => {
    throw new ModelpressError('E_FORMAT', `preprocessing: ${why}`, { file });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('expected a JSON object');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) bad(`unknown field '${k}' (fields: ${KEYS.join(', ')})`);
  const posInt = (v: unknown, what: string): number =>
    typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 16384
      ? v
      : bad(`${what} must be an integer in [1, 16384], got ${JSON.stringify(v)}`);
  const numbers = (v: unknown, what: string, positive: boolean): number[] => {
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0 || list.length > 4) bad(`${what} must be a number or 1-4 numbers`);
    return list.map((x) =>
      typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0)
        ? x
        : bad(`${what} must hold ${positive ? 'positive ' : ''}numbers, got ${JSON.stringify(x)}`),
    );
  };
  const word = <T extends string>(v: unknown, what: string, words: readonly T[]): T =>
    (words as readonly unknown[]).includes(v) ? (v as T) : bad(`${what} must be one of ${words.join(', ')}, got ${JSON.stringify(v)}`);
  let size: [number, number] | undefined;
  if (o.size !== undefined) {
    if (Array.isArray(o.size)) {
      if (o.size.length !== 2) bad('size must be [height, width] or one number');
      size = [posInt(o.size[0], 'size'), posInt(o.size[1], 'size')];
    } else {
      const s = posInt(o.size, 'size');
      size = [s, s];
    }
  }
  const scale = o.scale === undefined ? undefined : numbers(o.scale, 'scale', false);
  if (scale && scale.length !== 1) bad('scale must be one number');
  return {
    ...(size ? { size } : {}),
    ...(o.fit === undefined ? {} : { fit: word(o.fit, 'fit', ['stretch', 'crop'] as const) }),
    ...(o.resize === undefined ? {} : { resize: posInt(o.resize, 'resize') }),
    ...(o.layout === undefined ? {} : { layout: word(o.layout, 'layout', ['nchw', 'nhwc'] as const) }),
    ...(o.channels === undefined ? {} : { channels: word(o.channels, 'channels', ['rgb', 'bgr', 'gray'] as const) }),
    ...(scale ? { scale: scale[0]! } : {}),
    ...(o.mean === undefined ? {} : { mean: numbers(o.mean, 'mean', false) }),
    ...(o.std === undefined ? {} : { std: numbers(o.std, 'std', true) }),
  };
}

/** Preprocessing with every choice made: what one decoded image becomes. */
export interface ResolvedImagePreprocess {
  readonly height: number;
  readonly width: number;
  readonly fit: 'stretch' | 'crop';
  readonly resize: number | undefined;
  readonly layout: ImageLayout;
  readonly channels: ChannelOrder;
  readonly scale: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** Values of one output sample. */
export function channelCount(order: ChannelOrder): number {
  return order === 'gray' ? 1 : 3;
}

/**
 * Fills every unset choice: from the model input's shape ([N, C, H, W] or
 * [N, H, W, C] with C of 1 or 3, or [N, H, W] for grey; fixed dims only) and
 * else from the first image's size. E_SHAPE when the JSON contradicts the model's fixed dims.
 */
export function resolvePreprocess(
  pre: ImagePreprocess,
  modelShape: readonly (number | string)[] | undefined,
  firstImage: { width: number; height: number },
): ResolvedImagePreprocess {
  // A rank-3 input [N, H, W] takes grey images (as [1, H, W] samples, which fit it).
  const shape =
    modelShape && modelShape.length === 4
      ? modelShape
      : modelShape && modelShape.length === 3
        ? [modelShape[0]!, 1, modelShape[1]!, modelShape[2]!]
        : undefined;
  const isC = (d: number | string | undefined) => d === 1 || d === 3;
  const modelLayout: ImageLayout | undefined = shape
    ? isC(shape[1]) && !isC(shape[3])
      ? 'nchw'
      : isC(shape[3]) && !isC(shape[1])
        ? 'nhwc'
        : isC(shape[1])
          ? 'nchw'
          : undefined
    : undefined;
  const layout = pre.layout ?? modelLayout ?? 'nchw';
  const axes = layout === 'nchw' ? { c: 1, h: 2, w: 3 } : { c: 3, h: 1, w: 2 };
  const dim = (i: number): number | undefined => (shape && typeof shape[i] === 'number' ? (shape[i] as number) : undefined);
  const modelC = dim(axes.c);
  const channels = pre.channels ?? (modelC === 1 ? 'gray' : 'rgb');
  const mismatch = (what: string, mine: number, theirs: number): never => {
    throw new ModelpressError(
      'E_SHAPE',
      `image preprocessing gives ${what} ${mine}, the model input [${(modelShape ?? []).join(', ')}] (${layout}) takes ${theirs}`,
    );
  };
  if (modelC !== undefined && modelC !== channelCount(channels)) mismatch('channels', channelCount(channels), modelC);
  const [mh, mw] = [dim(axes.h), dim(axes.w)];
  const height = pre.size?.[0] ?? mh ?? firstImage.height;
  const width = pre.size?.[1] ?? mw ?? firstImage.width;
  if (mh !== undefined && mh !== height) mismatch('height', height, mh);
  if (mw !== undefined && mw !== width) mismatch('width', width, mw);
  const c = channelCount(channels);
  const perChannel = (v: readonly number[] | undefined, fallback: number, what: string): number[] => {
    if (!v) return new Array<number>(c).fill(fallback);
    if (v.length === 1) return new Array<number>(c).fill(v[0]!);
    if (v.length !== c)
      throw new ModelpressError('E_SHAPE', `image preprocessing: ${what} has ${v.length} values for ${c} channels (${channels})`);
    return [...v];
  };
  return {
    height,
    width,
    fit: pre.fit ?? 'stretch',
    resize: pre.resize,
    layout,
    channels,
    scale: pre.scale ?? 1 / 255,
    mean: perChannel(pre.mean, 0, 'mean'),
    std: perChannel(pre.std, 1, 'std'),
  };
}

/**
 * One decoded RGBA image (width·height·4 bytes, alpha ignored) as a sample of
 * `p`, written into `out` at `offset` (height·width·channels float32 values).
 */
export function imageToSample(
  rgba: Uint8Array,
  width: number,
  height: number,
  p: ResolvedImagePreprocess,
  out: Float32Array,
  offset: number,
): void {
  // The source window that maps onto the output: all of it, or the centre crop after a shorter-side resize.
  let sx = 0;
  let sy = 0;
  let sw = width;
  let sh = height;
  if (p.fit === 'crop') {
    const shorter = p.resize ?? Math.max(p.height, p.width);
    const k = shorter / Math.min(width, height);
    // The resized image is (width·k) × (height·k); the crop takes p.width × p.height of it from the centre.
    sw = Math.min(width, p.width / k);
    sh = Math.min(height, p.height / k);
    sx = (width - sw) / 2;
    sy = (height - sh) / 2;
  }
  const c = channelCount(p.channels);
  const fx = sw / p.width;
  const fy = sh / p.height;
  const px = new Float32Array(3);
  for (let y = 0; y < p.height; y++) {
    const srcY = Math.min(height - 1, Math.max(0, sy + (y + 0.5) * fy - 0.5));
    const y0 = Math.floor(srcY);
    const y1 = Math.min(height - 1, y0 + 1);
    const wy = srcY - y0;
    for (let x = 0; x < p.width; x++) {
      const srcX = Math.min(width - 1, Math.max(0, sx + (x + 0.5) * fx - 0.5));
      const x0 = Math.floor(srcX);
      const x1 = Math.min(width - 1, x0 + 1);
      const wx = srcX - x0;
      const a = (y0 * width + x0) * 4;
      const b = (y0 * width + x1) * 4;
      const d = (y1 * width + x0) * 4;
      const e = (y1 * width + x1) * 4;
      for (let k = 0; k < 3; k++) {
        const top = rgba[a + k]! + (rgba[b + k]! - rgba[a + k]!) * wx;
        const bottom = rgba[d + k]! + (rgba[e + k]! - rgba[d + k]!) * wx;
        px[k] = top + (bottom - top) * wy;
      }
      for (let ch = 0; ch < c; ch++) {
        const v = p.channels === 'gray' ? 0.299 * px[0]! + 0.587 * px[1]! + 0.114 * px[2]! : px[p.channels === 'bgr' ? 2 - ch : ch]!;
        const i = p.layout === 'nchw' ? (ch * p.height + y) * p.width + x : (y * p.width + x) * c + ch;
        out[offset + i] = (v * p.scale - p.mean[ch]!) / p.std[ch]!;
      }
    }
  }
}

/** The sample shape `p` gives: [C, H, W] or [H, W, C]. */
export function preprocessShape(p: ResolvedImagePreprocess): number[] {
  const c = channelCount(p.channels);
  return p.layout === 'nchw' ? [c, p.height, p.width] : [p.height, p.width, c];
}
