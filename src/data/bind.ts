/**
 * Which array of a dataset feeds which model input, and whether its dtype
 * can: the one binding rule of every command that feeds data.
 *
 * - Arrays named like a model input feed that input.
 * - Otherwise a dataset with a single array (a .npy, a .npz with one member
 *   besides labels/targets, `x`, images, the built-ins) feeds the data input:
 *   `dataInput` when given, else the model's first input. An array `x` beside
 *   arrays named after inputs feeds the data input (default: the first input
 *   no other array feeds).
 * - An array that matches no input is an error listing the model's inputs and
 *   the file's arrays (a typo must not silently feed zeros).
 *
 * dtypes: floats convert to any float input (float16, bfloat16...); integers
 * and bools convert to float inputs and to integer inputs whose range holds
 * every value (int64 token ids -> int32); a bool input takes bools or integer
 * 0/1. Float data for an integer or bool input is refused: rounding token ids
 * silently would hide a wrong file.
 */
import type { DType } from '../core/dtypes.js';
import { elementCount } from '../core/dtypes.js';
import { ModelpressError } from '../core/errors.js';
import { fromFloat32, makeTensor, toFloat32, typedView, type Tensor } from '../core/tensor.js';
import type { Dataset } from './dataset.js';

/** A model input as declared (structurally the runtime's IoInfo). */
export interface InputDecl {
  readonly name: string;
  readonly dtype: DType | undefined;
  readonly shape: readonly (number | string)[] | undefined;
}

/** One array of the data bound to one model input. */
export interface InputBinding {
  readonly input: InputDecl;
  /** The examples for it, [count, ...]. */
  readonly tensor: Tensor;
  /** How the data names it: the .npz member, or 'x' for the dataset's examples. */
  readonly array: string;
}

/** The arrays of a dataset by the name the data gives them ('x' for unnamed examples). */
export function datasetArrays(ds: Dataset): { name: string; tensor: Tensor; named: boolean }[] {
  return [
    { name: ds.xName ?? 'x', tensor: ds.x, named: ds.xName !== undefined },
    ...Object.entries(ds.inputs ?? {}).map(([name, tensor]) => ({ name, tensor, named: true })),
  ];
}

/** Binds the dataset's arrays to `inputs` by the rule of the file comment. */
export function bindInputs(ds: Dataset, inputs: readonly InputDecl[], dataInput?: string): InputBinding[] {
  const arrays = datasetArrays(ds);
  const where = ds.file ?? ds.name;
  const listing = () =>
    `the model's inputs: ${inputs.map((i) => `'${i.name}'`).join(', ') || 'none'}; the data's arrays: ${arrays.map((a) => `'${a.name}'`).join(', ')}`;
  if (dataInput !== undefined && !inputs.some((i) => i.name === dataInput))
    throw new ModelpressError('E_ARG', `model has no input named '${dataInput}'; inputs: ${inputs.map((i) => i.name).join(', ')}`);
  const byName = arrays.filter((a) => inputs.some((i) => i.name === a.name));
  if (byName.length === 0 && arrays.length === 1) {
    const input = dataInput === undefined ? inputs[0] : inputs.find((i) => i.name === dataInput);
    if (!input) throw new ModelpressError('E_ARG', 'the model has no inputs to feed data to', { file: where });
    return [{ input, tensor: arrays[0]!.tensor, array: arrays[0]!.name }];
  }
  // `x` (a .npz member so named, or unnamed examples) that names no input feeds the data input, beside the named ones.
  const x = arrays[0]!;
  if (byName.length > 0 && x.name === 'x' && !byName.includes(x)) {
    const taken = new Set(byName.map((a) => a.name));
    const input = dataInput === undefined ? inputs.find((i) => !taken.has(i.name)) : inputs.find((i) => i.name === dataInput);
    if (input && !taken.has(input.name)) {
      const rest = arrays.filter((a) => a !== x && !byName.includes(a));
      if (rest.length === 0)
        return [
          { input, tensor: x.tensor, array: 'x' },
          ...byName.map((a) => ({ input: inputs.find((i) => i.name === a.name)!, tensor: a.tensor, array: a.name })),
        ];
    }
  }
  const unmatched = arrays.filter((a) => !byName.includes(a));
  if (byName.length === 0 || unmatched.length > 0) {
    const which = unmatched.map((a) => `'${a.name}'`).join(', ');
    const msg =
      byName.length === 0
        ? `no array matches a model input by name (${listing()}); name the members after the inputs, or give a single array`
        : `array${unmatched.length > 1 ? 's' : ''} ${which} match${unmatched.length > 1 ? '' : 'es'} no model input (${listing()})`;
    throw new ModelpressError('E_NOT_FOUND', msg, { file: where });
  }
  return byName.map((a) => ({ input: inputs.find((i) => i.name === a.name)!, tensor: a.tensor, array: a.name }));
}

const isFloat = (d: DType): boolean => d.startsWith('float') || d === 'bfloat16';
const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  int64: [-(2 ** 53), 2 ** 53],
  uint64: [0, 2 ** 53],
  bool: [0, 1],
};
const isInteger = (d: DType): boolean => d !== 'bool' && INT_RANGE[d] !== undefined;

/**
 * Checks that data of `data` dtype may feed an input of `input` dtype (E_FORMAT
 * naming the array, the input and both dtypes when not). Values are checked
 * against the input's range when the data is converted (`convertExact`).
 */
export function checkDtype(data: DType, input: DType, what: { array: string; input: string; file?: string | undefined }): void {
  if (data === input) return;
  const refuse = (why: string): never => {
    throw new ModelpressError(
      'E_FORMAT',
      `array '${what.array}' holds ${data}, model input '${what.input}' takes ${input}: ${why}`,
      what.file === undefined ? {} : { file: what.file },
    );
  };
  if (data === 'string' || data.startsWith('complex')) refuse('not numbers');
  if (isFloat(input)) return;
  if (isInteger(input) || input === 'bool') {
    if (isFloat(data))
      refuse(
        `float values are not ${input === 'bool' ? 'bools' : 'integers'}; store the array as ${input} (numpy: .astype(np.${input === 'bool' ? 'bool_' : input}))`,
      );
    if (isInteger(data) || data === 'bool') return;
  }
  refuse('no conversion between them');
}

/**
 * `t` as dtype `to`: integers exactly (through float64, exact to 2^53; E_FORMAT
 * naming the first value outside `to`'s range), floats the way a cast rounds.
 */
export function convertExact(t: Tensor, to: DType, what: { array: string; input: string; file?: string | undefined }): Tensor {
  if (t.dtype === to) return t;
  if (isFloat(to)) return fromFloat32(toFloat32(t), to, t.shape);
  const range = INT_RANGE[to];
  if (!range) throw new ModelpressError('E_UNSUPPORTED', `cannot feed ${to} inputs`);
  const src = typedView(t);
  const n = elementCount(t.shape);
  const out = to === 'int64' ? new BigInt64Array(n) : to === 'uint64' ? new BigUint64Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(src[i]!);
    if (!(v >= range[0] && v <= range[1]))
      throw new ModelpressError(
        'E_FORMAT',
        `array '${what.array}' value ${v} (element ${i}) does not fit model input '${what.input}' of type ${to}`,
        what.file === undefined ? {} : { file: what.file },
      );
    if (out instanceof Float64Array) out[i] = v;
    else out[i] = BigInt(v) as never;
  }
  if (!(out instanceof Float64Array)) return makeTensor(to, t.shape, new Uint8Array(out.buffer));
  const ctor = {
    int8: Int8Array,
    uint8: Uint8Array,
    int16: Int16Array,
    uint16: Uint16Array,
    int32: Int32Array,
    uint32: Uint32Array,
    bool: Uint8Array,
  }[to as 'int8']!;
  return makeTensor(to, t.shape, new Uint8Array(ctor.from(out).buffer));
}
