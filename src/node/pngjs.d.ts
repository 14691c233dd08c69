/** The part of pngjs (no bundled types) that modelpress uses: synchronous decode and encode. */
declare module 'pngjs' {
  export interface PngImage {
    width: number;
    height: number;
    /** RGBA, 8 bits per channel (16-bit images are rescaled to 8 unless skipRescale). */
    data: Buffer;
  }
  export const PNG: {
    sync: {
      read(buffer: Buffer, options?: { skipRescale?: boolean; checkCRC?: boolean }): PngImage;
      write(png: PngImage, options?: { colorType?: number; inputColorType?: number; inputHasAlpha?: boolean }): Buffer;
    };
  };
}
