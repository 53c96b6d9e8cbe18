/**
 * The pixel size an image says it has, read from its first bytes before
 * anything decodes it: a received image is shown inline only when its
 * decoded size fits a budget. A PNG of 20,000 x 20,000 grey pixels
 * compresses to about 400 KB yet decodes to 1.6 GB of RGBA: shown as an
 * `<img>`, such a decompression bomb freezes or kills the tab. Formats and
 * fields: PNG IHDR (https://www.w3.org/TR/png-3/#11IHDR), GIF logical
 * screen (https://www.w3.org/Graphics/GIF/spec-gif89a.txt, section 18),
 * JPEG SOFn (ITU T.81, B.2.2), WebP VP8/VP8L/VP8X
 * (https://developers.google.com/speed/webp/docs/riff_container).
 */

/** Most pixels an image may have to be shown inline (50 MP: a phone's largest photos; 200 MB decoded). */
export const MAX_INLINE_IMAGE_PIXELS = 50_000_000

/** How many first bytes {@link imageSize} is given: JPEG metadata (EXIF, ICC) may come before the size. */
export const IMAGE_HEAD_BYTES = 256 * 1024

/** Width and height in pixels. */
export interface ImageSize { width: number, height: number }

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

function at (head: Uint8Array, offset: number, bytes: readonly number[]): boolean {
  return head.length >= offset + bytes.length && bytes.every((b, i) => head[offset + i] === b)
}

function ascii (head: Uint8Array, offset: number, text: string): boolean {
  return at(head, offset, [...text].map(c => c.charCodeAt(0)))
}

function u16be (h: Uint8Array, o: number): number { return (h[o] << 8) | h[o + 1] }
function u16le (h: Uint8Array, o: number): number { return h[o] | (h[o + 1] << 8) }
function u24le (h: Uint8Array, o: number): number { return h[o] | (h[o + 1] << 8) | (h[o + 2] << 16) }
function u32be (h: Uint8Array, o: number): number { return ((h[o] << 24) >>> 0) + ((h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]) }

function png (h: Uint8Array): ImageSize | undefined {
  // The signature, then the IHDR chunk first: length (4), type (4), width, height.
  if (h.length < 24 || !ascii(h, 12, 'IHDR')) return undefined
  return { width: u32be(h, 16), height: u32be(h, 20) }
}

function gif (h: Uint8Array): ImageSize | undefined {
  return h.length < 10 ? undefined : { width: u16le(h, 6), height: u16le(h, 8) }
}

/** Walks the JPEG's marker segments to the first start-of-frame. */
function jpeg (h: Uint8Array): ImageSize | undefined {
  let o = 2
  while (o + 9 <= h.length) {
    if (h[o] !== 0xff) return undefined
    const marker = h[o + 1]
    if (marker === 0xff) { o++; continue }
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision (1), height (2), width (2).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { width: u16be(h, o + 7), height: u16be(h, o + 5) }
    }
    o += 2 + u16be(h, o + 2)
  }
  return undefined
}

function webp (h: Uint8Array): ImageSize | undefined {
  if (h.length < 30) return undefined
  if (ascii(h, 12, 'VP8X')) return { width: u24le(h, 24) + 1, height: u24le(h, 27) + 1 }
  if (ascii(h, 12, 'VP8L')) {
    const bits = h[21] | (h[22] << 8) | (h[23] << 16) | (h[24] << 24)
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 }
  }
  if (ascii(h, 12, 'VP8 ')) return { width: u16le(h, 26) & 0x3fff, height: u16le(h, 28) & 0x3fff }
  return undefined
}

/** The size an image's header states (PNG, GIF, JPEG, WebP); undefined when it is none of them or cut short. */
export function imageSize (head: Uint8Array): ImageSize | undefined {
  if (at(head, 0, PNG_SIGNATURE)) return png(head)
  if (ascii(head, 0, 'GIF87a') || ascii(head, 0, 'GIF89a')) return gif(head)
  if (at(head, 0, [0xff, 0xd8])) return jpeg(head)
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBP')) return webp(head)
  return undefined
}

/** Whether an image with this header may be decoded on screen: its size is known and within {@link MAX_INLINE_IMAGE_PIXELS}. */
export function safeToShow (head: Uint8Array, maxPixels = MAX_INLINE_IMAGE_PIXELS): boolean {
  const size = imageSize(head)
  return size != null && size.width > 0 && size.height > 0 && size.width * size.height <= maxPixels
}
