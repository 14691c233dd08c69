/**
 * Every CLI command, one module each. A command module exports
 * `register(program, io)` that adds its subcommand to the commander program.
 * Add one import and one list entry per command.
 */
import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import { register as inspect } from './inspect.js';
import { register as convert } from './convert.js';
import { register as pack } from './pack.js';
import { register as unpack } from './unpack.js';
import { register as evalCommand } from './eval.js';
import { register as compare } from './compare.js';
import { register as train } from './train.js';
import { register as finetune } from './finetune.js';
import { register as quantize } from './quantize.js';
import { register as compress } from './compress.js';
import { register as prune } from './prune.js';
import { register as cluster } from './cluster.js';
import { register as qat } from './qat.js';
import { register as distill } from './distill.js';
import { register as sensitivity } from './sensitivity.js';

export type RegisterCommand = (program: Command, io: CliIO) => void;

export const commands: RegisterCommand[] = [
  inspect,
  convert,
  pack,
  unpack,
  evalCommand,
  compare,
  train,
  finetune,
  quantize,
  compress,
  prune,
  cluster,
  qat,
  distill,
  sensitivity,
];
