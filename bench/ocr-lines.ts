/**
 * Text-line images for PP-OCRv4 rec, rendered on this machine without an
 * image library: strings of capitals, digits and spaces drawn with a 5x7
 * dot-matrix font (in the style of the HD44780 character set), each dot a
 * filled square, dark on a light background of seeded levels with a little
 * noise, then put through rec's own preprocessing (height 48, the
 * width kept to the aspect up to `width`, (x / 255 - 0.5) / 0.5, three equal
 * channels, zero padding on the right).
 *
 *   npx tsx bench/ocr-lines.ts [out.npz] [--lines N] [--width W]   (default .cache/fixtures/ocr/rec.npz, 96 lines, 320)
 *
 * Writes one array, `x` float32 [lines, 3, 48, width] (rec's input name), no labels.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { makeTensor } from '../src/core/tensor.js';
import { mulberry32 } from '../src/core/random.js';
import { encodeNpy } from '../src/eval/datasets/npy.js';
import { storedNpz } from '../test/eval/helpers.js';

/** 5x7 glyphs, one string of 7 rows of 5 bits (as 2-digit hex, bit 4 = leftmost) per character. */
const FONT: Record<string, string> = {
  A: '0e11111f111111',
  B: '1e11111e11111e',
  C: '0e11101010110e',
  D: '1c12111111121c',
  E: '1f10101e10101f',
  F: '1f10101e101010',
  G: '0e1110171111 0f',
  H: '1111111f111111',
  I: '0e04040404040e',
  J: '07020202021 20c',
  K: '11121418141211',
  L: '1010101010101f',
  M: '111b1515111111',
  N: '1111191513111 1',
  O: '0e11111111110e',
  P: '1e11111e101010',
  Q: '0e111111150d 0d',
  R: '1e11111e141211',
  S: '0f10100e01011e',
  T: '1f040404040404',
  U: '1111111111110e',
  V: '11111111110a04',
  W: '11111115151b11',
  X: '11110a040a1111',
  Y: '11110a04040404',
  Z: '1f01020408101f',
  '0': '0e11131519110e',
  '1': '040c040404040e',
  '2': '0e110102040 81f',
  '3': '1f020402010 11e',
  '4': '02060a121f0202',
  '5': '1f101e0101110e',
  '6': '06081010 1e110e',
  '7': '1f010204080808',
  '8': '0e11110e11110e',
  '9': '0e11110f01020c',
  ' ': '00000000000000',
};

function glyphRows(ch: string): number[] {
  const hex = (FONT[ch] ?? FONT[' ']!).replace(/\s/g, '');
  return Array.from({ length: 7 }, (_, r) => Number.parseInt(hex.slice(2 * r, 2 * r + 2), 16));
}

const WORDS = ['INVOICE', 'TOTAL', 'DATE', 'NO', 'ROOM', 'EXIT', 'PARKING', 'OPEN', 'SALE', 'ORDER', 'PAGE', 'TEL', 'KM', 'MAX', 'ZONE'];

/** Line `i`: a deterministic string of words and numbers. */
export function lineText(i: number): string {
  const r = mulberry32(1000 + i);
  const parts: string[] = [];
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++)
    parts.push(r() < 0.6 ? WORDS[Math.floor(r() * WORDS.length)]! : String(Math.floor(r() * 10 ** (1 + Math.floor(r() * 5)))));
  return parts.join(' ');
}

/** The preprocessed rec input of line `i`: [3, 48, width] float32 values. */
export function renderLine(i: number, width: number): Float32Array {
  const r = mulberry32(7000 + i);
  const text = lineText(i);
  const dot = 4 + Math.floor(r() * 2); // pixels per dot: glyphs 28 or 35 px tall
  const cellW = 6 * dot;
  const h = 48;
  const textW = Math.max(1, text.length * cellW + 2 * dot);
  const pix = new Float32Array(h * textW).fill(0);
  const bg = 200 + r() * 50;
  const fg = 10 + r() * 60;
  const top = Math.floor((h - 7 * dot) / 2);
  for (let y = 0; y < h; y++) for (let x = 0; x < textW; x++) pix[y * textW + x] = bg + (r() - 0.5) * 16;
  [...text].forEach((ch, c) => {
    const rows = glyphRows(ch);
    for (let gy = 0; gy < 7; gy++)
      for (let gx = 0; gx < 5; gx++) {
        if (!((rows[gy]! >> (4 - gx)) & 1)) continue;
        for (let dy = 0; dy < dot; dy++)
          for (let dx = 0; dx < dot; dx++) {
            const x = dot + c * cellW + gx * dot + dx;
            const y = top + gy * dot + dy;
            pix[y * textW + x] = fg + (r() - 0.5) * 16;
          }
      }
  });
  // rec preprocessing: height 48 already; width scaled only when the line is wider than `width`
  const scale = Math.min(1, width / textW);
  const outW = Math.max(1, Math.floor(textW * scale));
  const out = new Float32Array(3 * h * width);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < outW; x++) {
      const v = (pix[y * textW + Math.min(textW - 1, Math.floor(x / scale))]! / 255 - 0.5) / 0.5;
      for (let c = 0; c < 3; c++) out[(c * h + y) * width + x] = v;
    }
  return out;
}

/** `lines` rendered lines as an .npz with one array `x` [lines, 3, 48, width]. */
export function recNpz(lines: number, width: number): Uint8Array {
  const per = 3 * 48 * width;
  const all = new Float32Array(lines * per);
  for (let i = 0; i < lines; i++) all.set(renderLine(i, width), i * per);
  return storedNpz({ x: encodeNpy(makeTensor('float32', [lines, 3, 48, width], new Uint8Array(all.buffer))) });
}

if (process.argv[1]?.endsWith('ocr-lines.ts')) {
  const args = process.argv.slice(2);
  const flag = (name: string, d: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : d;
  };
  const out = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? '.cache/fixtures/ocr/rec.npz';
  const lines = flag('--lines', 96);
  const width = flag('--width', 320);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, recNpz(lines, width));
  process.stdout.write(`${lines} text lines [3, 48, ${width}] in ${out}\n`);
}
