/** The options vocabulary: one parser per kind of value, one error style (E_ARG naming option and value), one help style. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addSelectionOptions, addTrainingOptions, commaList, fraction, int, number, oneOf, option, pair } from '../../src/cli/options.js';
import { cliCommands } from '../../src/cli/reference.js';
import { cli } from './cli.js';

const argError = (flag: string, value: string) =>
  expect.objectContaining({
    code: 'E_ARG',
    message: expect.stringMatching(new RegExp(`^${flag} must be .*, got "${value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"$`)),
  });

describe('parsers', () => {
  it('int: whole numbers in a range', () => {
    expect(int({ min: 0 })('12', '--top')).toBe(12);
    expect(() => int({ min: 0 })('1.5', '--top')).toThrow(argError('--top', '1.5'));
    expect(() => int({ min: 0 })('-1', '--top')).toThrow(argError('--top', '-1'));
    expect(() => int({ min: 16, max: 256 })('512', '--block-size')).toThrow(/in \[16, 256\]/);
    expect(() => int()('', '--n')).toThrow(argError('--n', ''));
  });

  it('number: finite, also as a ratio', () => {
    expect(number()('1/255', '--scale')).toBeCloseTo(1 / 255, 12);
    expect(number()('-0.5', '--x')).toBe(-0.5);
    expect(() => number()('abc', '--scale')).toThrow(argError('--scale', 'abc'));
    expect(() => number({ above: 0 })('0', '--lr')).toThrow(/> 0/);
  });

  it('fraction: 0.25 or 25%, inside [0, 1]', () => {
    expect(fraction()('0.25', '--f')).toBe(0.25);
    expect(fraction()('25%', '--f')).toBe(0.25);
    expect(() => fraction()('1.5', '--f')).toThrow(argError('--f', '1.5'));
    expect(() => fraction({ below1: true })('1', '--f')).toThrow(/\[0, 1\)/);
  });

  it('oneOf, pair and commaList', () => {
    expect(oneOf(['a', 'b'] as const)('b', '--m')).toBe('b');
    expect(() => oneOf(['a', 'b'] as const)('c', '--m')).toThrow(argError('--m', 'c'));
    expect(pair(int())('batch=1', '--dim')).toEqual(['batch', 1]);
    expect(() => pair()('batch', '--dim')).toThrow(argError('--dim', 'batch'));
    expect(commaList(number())('0.5, 0.4,0.3', '--mean')).toEqual([0.5, 0.4, 0.3]);
  });
});

describe('option()', () => {
  const parse = (cmd: Command, ...argv: string[]) => cmd.exitOverride().parse(argv, { from: 'user' }).opts();

  it('repeatable and comma-separated lists collect in order', () => {
    const cmd = addSelectionOptions(new Command('x'));
    expect(parse(cmd, '--include', 'a,b', '--include', 'c', '--exclude', '/x/')).toEqual({ include: ['a', 'b', 'c'], exclude: ['/x/'] });
  });

  it('a given value replaces a default list instead of extending it', () => {
    const cmd = new Command('x').addOption(option('--ops <ops>', 'ops', { repeatable: true, commas: true, default: ['Conv'] }));
    expect(parse(cmd)).toEqual({ ops: ['Conv'] });
    expect(
      parse(
        new Command('x').addOption(option('--ops <ops>', 'ops', { repeatable: true, commas: true, default: ['Conv'] })),
        '--ops',
        'Gemm',
      ),
    ).toEqual({ ops: ['Gemm'] });
  });

  it('help shows every default as "(default: x)", fixed or described, and choices without replacing the parser', () => {
    const cmd = new Command('x').addOption(option('--top <n>', 'rows', { parse: int({ min: 0 }), default: 20 })).addOption(
      option('--to <format>', 'format', {
        parse: oneOf(['onnx', 'tfjs'] as const),
        choices: ['onnx', 'tfjs'],
        defaultText: 'from the extension',
      }),
    );
    const help = cmd.helpInformation();
    expect(help).toMatch(/--top <n>\s+rows \(default: 20\)/);
    expect(help).toMatch(/--to <format>\s+format \(default: from the extension\) \(choices: "onnx", "tfjs"\)/);
    expect(() => parse(cmd, '--to', 'pdf')).toThrow(argError('--to', 'pdf'));
  });
});

describe('the training group', () => {
  const cmd = () => addTrainingOptions(new Command('t').exitOverride(), { epochs: 3, lrSchedule: 'cosine', what: 'fine-tuning' });

  it('parses to numbers with the documented defaults', () => {
    expect(cmd().parse([], { from: 'user' }).opts()).toEqual({
      epochs: 3,
      lrSchedule: 'cosine',
      batchSize: 64,
      optimizer: 'adam',
      seed: 0,
      valSize: 5000,
    });
    const o = cmd()
      .parse(['--lr', '3e-4', '--optimizer', 'adamw', '--patience', '2', '--limit', '100', '--weight-decay', '0.05'], { from: 'user' })
      .opts();
    expect(o).toMatchObject({ lr: 3e-4, optimizer: 'adamw', patience: 2, limit: 100, weightDecay: 0.05 });
  });

  it('refuses bad values in the one error style', () => {
    expect(() => cmd().parse(['--epochs', '0'], { from: 'user' })).toThrow(argError('--epochs', '0'));
    expect(() => cmd().parse(['--optimizer', 'lion'], { from: 'user' })).toThrow(argError('--optimizer', 'lion'));
    expect(() => cmd().parse(['--lr', '0'], { from: 'user' })).toThrow(argError('--lr', '0'));
  });

  it('help says which optimizer-dependent defaults apply', () => {
    const lr = cmd().options.find((o) => o.long === '--lr')!;
    expect(lr.description).toBe('fine-tuning learning rate (default: 1e-3 for adam/adamw, 0.01 for sgd)');
    expect(cmd().helpInformation().replace(/\s+/g, ' ')).toContain(
      'fine-tuning learning rate (default: 1e-3 for adam/adamw, 0.01 for sgd)',
    );
  });
});

describe('every converted command speaks the vocabulary', () => {
  it('a bad number is exit 2 with the E_ARG message naming the option', async () => {
    for (const argv of [
      ['inspect', 'x.onnx', '--top', '-1'],
      ['quantize', 'x.onnx', '-o', 'y.onnx', '--scheme', 'int8', '--min-size', 'many'],
      ['eval', 'x.onnx', '--runs', '0'],
      ['convert', 'x.onnx', '-o', 'y.onnx', '--to', 'pdf'],
      ['train', '--arch', 'lenet-5', '-o', 'y.onnx', '--epochs', '0'],
      ['finetune', 'x.onnx', '-o', 'y.onnx', '--lr', 'fast'],
      ['prune', 'x.onnx', '-o', 'y.onnx', '--sparsity', '1'],
      ['cluster', 'x.onnx', '-o', 'y.onnx', '--bits', '9'],
      ['qat', 'x.onnx', '-o', 'y.onnx', '--scheme', 'int8', '--data', 'mnist', '--ema-decay', '1'],
      ['distill', '--teacher', 't.onnx', '--student', 'mlp-32', '-o', 'y.onnx', '--data', 'mnist', '--alpha', '2'],
      ['sensitivity', 'x.onnx', '--data', 'mnist', '--target-ratio', '0'],
      ['compress', '-o', 'y.mpz', '--bits-fc', '0'],
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(/modelpress: error \[E_ARG\]: --[a-z-]+ must be .*, got "/);
    }
  });

  it('inspect and quantize list 20 tensors by default, the same --top', async () => {
    for (const name of ['inspect', 'quantize']) {
      const r = await cli(name, '--help');
      expect(r.out, name).toMatch(/--top <n>[\s\S]*?\(default: 20\)/);
    }
  });

  it('every command has --json and no help text writes a default outside "(default: x)"', async () => {
    const top = await cli('--help');
    const names = [...top.out.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!).filter((n) => n !== 'help');
    expect(names.length).toBeGreaterThanOrEqual(15);
    for (const name of names) {
      const help = (await cli(name, '--help')).out;
      expect(help, name).toContain('--json');
      expect(help.replace(/\s+/g, ' '), name).toMatch(/\(schema modelpress\.[a-z]+\/\d+/);
      expect(help, name).not.toMatch(/\(default [^:]/);
    }
  });

  it('the training commands take the data and training groups: one spelling, one help text per flag', () => {
    const group = [
      '--data',
      '--data-dir',
      '--test-limit',
      '--lr',
      '--lr-schedule',
      '--batch-size',
      '--optimizer',
      '--weight-decay',
      '--momentum',
      '--max-grad-norm',
      '--seed',
      '--limit',
      '--json',
    ];
    const help = new Map<string, string>();
    for (const name of ['train', 'finetune', 'prune', 'cluster', 'qat', 'distill']) {
      const cmd = cliCommands().find((c) => c.name() === name)!;
      expect(
        cmd.options.map((o) => o.long),
        name,
      ).toEqual(expect.arrayContaining(group));
      // Epochs are the one length vocabulary; train's --steps belongs to --arch byte-lm alone (E_ARG elsewhere).
      if (name !== 'train') {
        expect(
          cmd.options.map((o) => o.long),
          name,
        ).not.toContain('--steps');
      }
      for (const flag of ['--weight-decay', '--momentum', '--max-grad-norm', '--data-dir', '--test-limit']) {
        const d = cmd.options.find((o) => o.long === flag)!.description;
        expect(d, `${name} ${flag}`).toBe(help.get(flag) ?? d);
        help.set(flag, d);
      }
      const data = cmd.options.find((o) => o.long === '--data')!.description;
      expect(data, name).toContain('.npz file with arrays x');
    }
  });

  it('--output always means the file written (-o), never a model output name', () => {
    for (const cmd of cliCommands()) {
      const o = cmd.options.find((x) => x.long === '--output');
      if (o) expect(o.short, cmd.name()).toBe('-o');
    }
    const evalCmd = cliCommands().find((c) => c.name() === 'eval')!;
    expect(evalCmd.options.map((o) => o.long)).toEqual(expect.arrayContaining(['--data-input', '--class-output']));
  });
});
