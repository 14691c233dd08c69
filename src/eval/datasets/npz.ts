/**
 * NumPy .npz archives (np.savez / np.savez_compressed): a zip of .npy files.
 * A dataset archive holds `x` (samples along axis 0) and optionally `y` (labels).
 */
import { fail } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { parseNpy } from './npy.js';
import { listZip, readZipEntry, type ZipReadOptions } from './zip.js';

/** Every array in an .npz archive by name (without the `.npy` suffix). */
export async function parseNpz(bytes: Uint8Array, options: ZipReadOptions = {}): Promise<Map<string, Tensor>> {
  const arrays = new Map<string, Tensor>();
  for (const entry of listZip(bytes, options.file)) {
    if (!entry.name.endsWith('.npy')) continue;
    const data = await readZipEntry(bytes, entry, options);
    const where = options.file ? `${options.file}[${entry.name}]` : entry.name;
    arrays.set(entry.name.slice(0, -4), parseNpy(data, where));
  }
  if (arrays.size === 0) fail('E_FORMAT', 'archive holds no .npy arrays', options.file);
  return arrays;
}
