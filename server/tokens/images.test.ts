import zlib from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { imageTokens, inlineImageSize } from "./images";
import real from "./real-images.json";

/**
 * Image sizes read from inline images' headers, per format: images built here byte by byte after each format's
 * specification (any size), and small ones as a real encoder (libvips) wrote them (real-images.json). Hostile
 * input (truncated, absurd sizes, garbage) never throws and falls back to the most an image is held at.
 */

const url = (bytes: Buffer, type = "png") => `data:image/${type};base64,${bytes.toString("base64")}`;
const u16be = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u16le = (n: number) => Buffer.from([n & 0xff, n >> 8]);
const u24le = (n: number) => Buffer.from([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff]);
const u32be = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u32le = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

function pngChunk(type: string, data: Buffer) {
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  return Buffer.concat([u32be(data.length), body, u32be(zlib.crc32(body))]);
}

/** A whole PNG: 8-bit greyscale, every row filtered "none" and black, compressed. */
function png(width: number, height: number) {
  const ihdr = Buffer.concat([u32be(width), u32be(height), Buffer.from([8, 0, 0, 0, 0])]);
  const rows = zlib.deflateSync(Buffer.alloc(height * (width + 1)));
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, pngChunk("IHDR", ihdr), pngChunk("IDAT", rows), pngChunk("IEND", Buffer.alloc(0))]);
}

/** A whole GIF89a: a width×height logical screen with a two-colour table and one 1×1 frame (LZW: clear, 0, end). */
function gif(width: number, height: number) {
  return Buffer.concat([
    Buffer.from("GIF89a", "latin1"),
    u16le(width),
    u16le(height),
    Buffer.from([0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff]),
    Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0]),
    Buffer.from([2, 2, 0x44, 0x01, 0, 0x3b]),
  ]);
}

function riff(chunk: string, data: Buffer) {
  const body = Buffer.concat([Buffer.from(`WEBP${chunk}`, "latin1"), u32le(data.length), data, data.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  return Buffer.concat([Buffer.from("RIFF", "latin1"), u32le(body.length), body]);
}
/** Lossy WebP: a VP8 key frame's header (frame tag, start code, 14-bit sizes) and some of its partition. */
const webpLossy = (width: number, height: number) =>
  riff("VP8 ", Buffer.concat([Buffer.from([0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a]), u16le(width), u16le(height), Buffer.alloc(16)]));
/** Lossless WebP: the VP8L signature, then width−1 and height−1 in 14 bits each, alpha and version bits. */
const webpLossless = (width: number, height: number) =>
  riff("VP8L", Buffer.concat([Buffer.from([0x2f]), u32le((width - 1) | ((height - 1) << 14)), Buffer.alloc(8)]));
/** Extended WebP: VP8X's canvas (24-bit width−1 and height−1) before the image's own chunks. */
const webpExtended = (width: number, height: number) => riff("VP8X", Buffer.concat([Buffer.from([0x10, 0, 0, 0]), u24le(width - 1), u24le(height - 1)]));

const segment = (marker: number, data: Buffer) => Buffer.concat([Buffer.from([0xff, marker]), u16be(data.length + 2), data]);
/** A JPEG's header: JFIF, a 40 KB EXIF segment (offsets far into the base64), a quantisation table, fill bytes, then the frame. */
function jpeg(width: number, height: number, frame = 0xc0) {
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, Buffer.from("JFIF\0\x01\x01\0\0\x01\0\x01\0\0", "latin1")),
    segment(0xe1, Buffer.concat([Buffer.from("Exif\0\0", "latin1"), Buffer.alloc(40_000, 7)])),
    segment(0xdb, Buffer.concat([Buffer.from([0]), Buffer.alloc(64, 1)])),
    Buffer.from([0xff, 0xff]),
    segment(frame, Buffer.concat([Buffer.from([8]), u16be(height), u16be(width), Buffer.from([1, 1, 0x11, 0])])),
    segment(0xda, Buffer.from([1, 1, 0, 0, 0x3f, 0])),
    Buffer.from([0x00, 0xff, 0xd9]),
  ]);
}

const libvips = (key: keyof typeof real, type: string) => `data:image/${type};base64,${real[key]}`;

describe("inline image sizes", () => {
  it.each<[string, string, { width: number; height: number }, number]>([
    ["PNG 1×1", url(png(1, 1)), { width: 1, height: 1 }, 765],
    ["PNG 1024×1024", url(png(1024, 1024)), { width: 1024, height: 1024 }, 765],
    ["PNG 768×2048", url(png(768, 2048)), { width: 768, height: 2048 }, 1445],
    ["PNG by libvips", libvips("png", "png"), { width: 5, height: 3 }, 1105],
    ["JPEG baseline 1024×1024", url(jpeg(1024, 1024), "jpeg"), { width: 1024, height: 1024 }, 765],
    ["JPEG progressive 4000×3000", url(jpeg(4000, 3000, 0xc2), "jpeg"), { width: 4000, height: 3000 }, 765],
    ["JPEG 2048×4096 (OpenAI's example)", url(jpeg(2048, 4096), "jpeg"), { width: 2048, height: 4096 }, 1105],
    ["JPEG baseline by libvips", libvips("jpegBaseline", "jpeg"), { width: 5, height: 3 }, 1105],
    ["JPEG progressive by libvips", libvips("jpegProgressive", "jpeg"), { width: 5, height: 3 }, 1105],
    ["JPEG with EXIF (rotated) by libvips", libvips("jpegExif", "jpeg"), { width: 5, height: 3 }, 1105],
    ["GIF 640×480", url(gif(640, 480), "gif"), { width: 640, height: 480 }, 765],
    ["GIF 1×1", url(gif(1, 1), "gif"), { width: 1, height: 1 }, 765],
    ["GIF by libvips", libvips("gif", "gif"), { width: 5, height: 3 }, 1105],
    ["WebP lossy 1024×1024", url(webpLossy(1024, 1024), "webp"), { width: 1024, height: 1024 }, 765],
    ["WebP lossless 16383×16383", url(webpLossless(16383, 16383), "webp"), { width: 16383, height: 16383 }, 765],
    ["WebP extended 2048×4096", url(webpExtended(2048, 4096), "webp"), { width: 2048, height: 4096 }, 1105],
    ["WebP lossy by libvips", libvips("webpLossyOpaque", "webp"), { width: 5, height: 3 }, 1105],
    ["WebP extended (alpha) by libvips", libvips("webpLossy", "webp"), { width: 5, height: 3 }, 1105],
    ["WebP lossless by libvips", libvips("webpLossless", "webp"), { width: 5, height: 3 }, 1105],
    ["a JPEG labelled image/png (told by its signature)", url(jpeg(1024, 1024), "png"), { width: 1024, height: 1024 }, 765],
  ])("%s", (_, dataUrl, size, tokens) => {
    expect(inlineImageSize(dataUrl)).toEqual(size);
    expect(imageTokens("high", inlineImageSize(dataUrl))).toBe(tokens);
    expect(imageTokens("low", inlineImageSize(dataUrl))).toBe(85);
  });

  it("image URLs, other media and what is not a data URL keep the documented fallback: 1 445, the most the rule charges a 768×2048", () => {
    for (const u of ["https://example.com/cat.png", "data:text/plain;base64,aGVsbG8=", "data:image/png,notbase64", "", null, 42, { url: "x" }]) {
      expect(inlineImageSize(u)).toBeNull();
      expect(imageTokens("auto", inlineImageSize(u))).toBe(1445);
    }
  });

  it("truncated anywhere before the size: no size, never a throw", () => {
    for (const [label, bytes, headerEnd] of [
      ["png", png(64, 64), 24],
      ["gif", gif(64, 64), 10],
      ["webp lossy", webpLossy(64, 64), 30],
      ["webp lossless", webpLossless(64, 64), 25],
      ["webp extended", webpExtended(64, 64), 30],
      ["jpeg", jpeg(64, 64), 40_110],
    ] as const) {
      const cuts = [...Array.from({ length: Math.min(64, headerEnd) }, (_, i) => i), ...Array.from({ length: 4 }, (_, i) => headerEnd - 1 - i)];
      for (let cut = 64; cut < headerEnd; cut += 997) cuts.push(cut);
      for (const cut of cuts) {
        const u = url(bytes.subarray(0, cut), label);
        expect(() => inlineImageSize(u), `${label} cut at ${cut}`).not.toThrow();
        expect(inlineImageSize(u), `${label} cut at ${cut}`).toBeNull();
      }
      expect(inlineImageSize(url(bytes.subarray(0, headerEnd)))).toEqual({ width: 64, height: 64 });
    }
  });

  it("absurd declared sizes: read as declared, and counted as a finite whole number of tokens", () => {
    for (const u of [
      url(png(1, 1).fill(0xff, 16, 20)),
      url(Buffer.concat([png(1, 1).subarray(0, 16), u32be(0x7fffffff), u32be(1)])),
      url(jpeg(65535, 1)),
      url(jpeg(1, 65535)),
      url(gif(65535, 65535)),
      url(webpExtended(16_777_216, 1)),
    ]) {
      const size = inlineImageSize(u);
      expect(size).not.toBeNull();
      const n = imageTokens("high", size);
      expect(Number.isSafeInteger(n) && n >= 85).toBe(true);
    }
    // A zero side is no image: held at the most.
    expect(inlineImageSize(url(gif(0, 10)))).toBeNull();
    expect(inlineImageSize(url(jpeg(10, 0)))).toBeNull();
  });

  it("garbage after a valid-looking start, line breaks in the base64, bad JPEG segment lengths: no throw, null or a positive size", () => {
    const starts = [png(1, 1).subarray(0, 8), Buffer.from([0xff, 0xd8]), Buffer.from("GIF89a"), Buffer.from("RIFF\0\0\0\0WEBP"), Buffer.alloc(0)];
    fc.assert(
      fc.property(fc.constantFrom(...starts), fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 40 }), (start, rest, noise) => {
        for (const u of [url(Buffer.concat([start, rest])), `${url(Buffer.concat([start, rest]))}${noise}`, `data:image/png;base64,${noise}`]) {
          const size = inlineImageSize(u);
          if (size) expect(Number.isSafeInteger(size.width) && size.width > 0 && Number.isSafeInteger(size.height) && size.height > 0).toBe(true);
          expect(Number.isSafeInteger(imageTokens("high", size))).toBe(true);
        }
      }),
    );
    const wrapped = url(jpeg(1024, 1024)).replace(/(.{76})/g, "$1\r\n");
    expect(inlineImageSize(wrapped)).toBeNull();
    expect(inlineImageSize(url(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01])))).toBeNull();
    // A segment chain that never reaches a frame stops after a bounded number of hops.
    const endless = Buffer.concat([Buffer.from([0xff, 0xd8]), ...Array.from({ length: 500 }, () => segment(0xfe, Buffer.alloc(2)))]);
    expect(inlineImageSize(url(endless))).toBeNull();
  });
});
