/**
 * Every CLI command, one module each. A command module exports
 * `register(program, io)` that adds its subcommand to the commander program.
 * Add one import and one list entry per command.
 */
import type { Command } from 'commander';
import type { CliIO } from '../io.js';

export type RegisterCommand = (program: Command, io: CliIO) => void;

export const commands: RegisterCommand[] = [];
