export * from './errors.js';
export * from './dtypes.js';
export * from './tensor.js';
export * from './float16.js';
