/**
 * What an image part of a prompt costs, by OpenAI's vision pricing, and the size of an image sent inline
 * (a `data:image/…;base64,` URL), read from its header: PNG, JPEG, GIF and WebP. Pure; the base64 text is
 * decoded only where the header is (a few bytes, or a JPEG's segment headers), never whole: inline images
 * run to megabytes and are counted on every request that carries them.
 */

type Size = { width: number; height: number };

/**
 * OpenAI's image pricing (platform.openai.com/docs/guides/images-vision, "Calculating costs"):
 * `detail: "low"` costs 85; otherwise the image is scaled to fit 2048×2048, then so that its
 * shortest side is 768 px, and costs 85 + 170 per 512-px tile. Without the dimensions (a URL
 * the proxy does not fetch, a header it cannot read) it is held at 1 445, what a 768×2048 image costs.
 * A side that the first scaling takes below one pixel (an image thousands of times longer than wide)
 * counts as one pixel, so that every size gives a finite count. The rule is symmetric in width and
 * height: an EXIF rotation, which swaps them, does not change the count.
 */
export function imageTokens(detail: unknown, size: Size | null): number {
  if (detail === "low") return 85;
  if (!size) return 85 + 170 * 8;
  let { width, height } = size;
  if (width > 2048 || height > 2048) {
    const r = Math.min(2048 / width, 2048 / height);
    width = Math.max(1, Math.floor(width * r));
    height = Math.max(1, Math.floor(height * r));
  }
  const r = 768 / Math.min(width, height);
  width = Math.floor(width * r);
  height = Math.floor(height * r);
  return 85 + 170 * Math.ceil(width / 512) * Math.ceil(height / 512);
}

const DATA_IMAGE = /^data:image\/[a-z0-9.+-]{1,40};base64,/i;
/** How far into a JPEG its frame header is looked for: past EXIF, ICC profiles and thumbnails, not through the image. */
const JPEG_MAX_OFFSET = 1 << 20;
const JPEG_MAX_SEGMENTS = 100;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Bytes of base64 text from `start` on, decoded on demand: `at(offset, n)` decodes just the characters holding them. */
function base64Bytes(text: string, start: number) {
  return (offset: number, n: number): Buffer | null => {
    const from = Math.floor(offset / 3) * 4;
    const to = Math.ceil((offset + n) / 3) * 4;
    const slice = text.slice(start + from, start + to);
    // Node skips what is not base64 (line breaks, garbage), which would shift every offset after it: not read then.
    if (!BASE64.test(slice)) return null;
    const chunk = Buffer.from(slice, "base64");
    const skip = offset - (from / 4) * 3;
    return chunk.length >= skip + n ? chunk.subarray(skip, skip + n) : null;
  };
}

type Read = ReturnType<typeof base64Bytes>;

const positive = (width: number, height: number): Size | null => (width > 0 && height > 0 ? { width, height } : null);

function png(at: Read): Size | null {
  const h = at(8, 16);
  // The IHDR chunk comes first, always: its length (13), type, width and height.
  if (h?.readUInt32BE(0) !== 13 || h.toString("latin1", 4, 8) !== "IHDR") return null;
  return positive(h.readUInt32BE(8), h.readUInt32BE(12));
}

function gif(at: Read): Size | null {
  // The logical screen: every frame is drawn on it, and it is what a decoder reports.
  const h = at(6, 4);
  return h && positive(h.readUInt16LE(0), h.readUInt16LE(2));
}

function webp(at: Read): Size | null {
  const kind = at(8, 8);
  if (kind?.toString("latin1", 0, 4) !== "WEBP") return null;
  const chunk = kind.toString("latin1", 4, 8);
  if (chunk === "VP8X") {
    // Flags (4), then the canvas: width−1 and height−1, 24 bits each.
    const h = at(24, 6);
    return h && positive(1 + h.readUIntLE(0, 3), 1 + h.readUIntLE(3, 3));
  }
  if (chunk === "VP8L") {
    // The signature byte, then width−1 and height−1 in 14 bits each.
    const h = at(20, 5);
    if (h?.[0] !== 0x2f) return null;
    const bits = h.readUInt32LE(1);
    return positive(1 + (bits & 0x3fff), 1 + ((bits >>> 14) & 0x3fff));
  }
  if (chunk === "VP8 ") {
    // A key frame: its 3-byte tag, the start code 9D 01 2A, then 14-bit width and height (2 bits of scaling above).
    const h = at(23, 7);
    if (h?.[0] !== 0x9d || h[1] !== 0x01 || h[2] !== 0x2a) return null;
    return positive(h.readUInt16LE(3) & 0x3fff, h.readUInt16LE(5) & 0x3fff);
  }
  return null;
}

/** SOF markers (baseline, progressive, lossless, arithmetic): all but DHT (C4), JPG (C8) and DAC (CC) in C0–CF. */
const isFrame = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

function jpeg(at: Read): Size | null {
  let pos = 2;
  for (let segments = 0; segments < JPEG_MAX_SEGMENTS && pos < JPEG_MAX_OFFSET; segments++) {
    const h = at(pos, 4);
    if (h?.[0] !== 0xff) return null;
    const marker = h[1]!;
    // Fill bytes (0xFF) may pad before a marker; RSTn, TEM and SOI stand alone, without a length.
    if (marker === 0xff) pos += 1;
    else if ((marker >= 0xd0 && marker <= 0xd8) || marker === 0x01) pos += 2;
    else if (isFrame(marker)) {
      // Length (2), precision (1), then height and width.
      const f = at(pos + 5, 4);
      return f && positive(f.readUInt16BE(2), f.readUInt16BE(0));
    } else if (marker === 0xda || marker === 0xd9) return null;
    else {
      const length = h.readUInt16BE(2);
      if (length < 2) return null;
      pos += 2 + length;
    }
  }
  return null;
}

/**
 * Width and height of an image sent inline, from its header: PNG, JPEG, GIF or WebP, told by their signatures
 * (not the URL's media type, which clients get wrong). Null for anything else, a URL, or a header that does not
 * read (truncated, garbage): then the image is held at the most (imageTokens). Never throws.
 */
export function inlineImageSize(url: unknown): Size | null {
  if (typeof url !== "string" || !url.startsWith("data:")) return null;
  const head = DATA_IMAGE.exec(url.slice(0, 64));
  if (!head) return null;
  const at = base64Bytes(url, head[0].length);
  const magic = at(0, 8);
  if (!magic) return null;
  if (magic.readUInt32BE(0) === 0x89504e47 && magic.readUInt32BE(4) === 0x0d0a1a0a) return png(at);
  if (magic[0] === 0xff && magic[1] === 0xd8) return jpeg(at);
  if (magic.toString("latin1", 0, 6) === "GIF87a" || magic.toString("latin1", 0, 6) === "GIF89a") return gif(at);
  if (magic.toString("latin1", 0, 4) === "RIFF") return webp(at);
  return null;
}
