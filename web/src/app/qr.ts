/**
 * A QR code encoder (ISO/IEC 18004, Model 2) for the safety number's
 * scannable payload: byte mode, error correction level M, versions 1 to
 * 10 (up to 213 bytes), the mask with the lowest penalty. Written here
 * rather than taken from a package because the app needs only this small
 * part; the structure follows the standard's steps (and Project Nayuki's
 * reference encoder, https://www.nayuki.io/page/qr-code-generator-library).
 * test/unit/web/qr.spec.ts decodes what it draws with zbar.
 */

/** Bytes that fit in the largest version this encoder makes (10-M, byte mode). */
export const QR_MAX_BYTES = 213

/** A QR code: `size` x `size` modules, true for dark, row by row. */
export interface QrCode {
  version: number
  size: number
  mask: number
  modules: boolean[][]
}

/** The payload does not fit in a version 10 code. */
export class QrTooLongError extends Error {
  override name = 'QrTooLongError'
}

/** Error correction level M, versions 1..10: ECC codewords per block and number of blocks (ISO/IEC 18004 table 9). */
const ECC_PER_BLOCK = [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26]
const BLOCKS = [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5]
/** The two format bits of level M. */
const LEVEL_M_BITS = 0

/** Data modules of a version (everything but function patterns). */
function rawDataModules (ver: number): number {
  let n = (16 * ver + 128) * ver + 64
  if (ver >= 2) {
    const align = Math.floor(ver / 7) + 2
    n -= (25 * align - 10) * align - 55
    if (ver >= 7) n -= 36
  }
  return n
}

function dataCodewords (ver: number): number {
  return Math.floor(rawDataModules(ver) / 8) - ECC_PER_BLOCK[ver] * BLOCKS[ver]
}

/** Centres of the alignment patterns of a version. */
function alignmentPositions (ver: number): number[] {
  if (ver === 1) return []
  const count = Math.floor(ver / 7) + 2
  const step = Math.ceil((ver * 4 + 4) / (count * 2 - 2)) * 2
  const out = [6]
  for (let pos = ver * 4 + 17 - 7; out.length < count; pos -= step) out.splice(1, 0, pos)
  return out
}

/** Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1. */
function gfMul (x: number, y: number): number {
  let z = 0
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d)
    z ^= ((y >>> i) & 1) * x
  }
  return z & 0xff
}

function rsDivisor (degree: number): number[] {
  const out = new Array<number>(degree).fill(0)
  out[degree - 1] = 1
  let root = 1
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < degree; j++) {
      out[j] = gfMul(out[j], root)
      if (j + 1 < degree) out[j] ^= out[j + 1]
    }
    root = gfMul(root, 0x02)
  }
  return out
}

function rsRemainder (data: number[], divisor: number[]): number[] {
  const out = new Array<number>(divisor.length).fill(0)
  for (const b of data) {
    const factor = b ^ (out.shift() ?? 0)
    out.push(0)
    for (let i = 0; i < divisor.length; i++) out[i] ^= gfMul(divisor[i], factor)
  }
  return out
}

/** Mode indicator, count and bytes, terminated and padded to the version's data capacity. */
function dataBytes (payload: Uint8Array, ver: number): number[] {
  const bits: number[] = []
  const put = (value: number, length: number): void => { for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1) }
  put(0b0100, 4)
  put(payload.length, ver <= 9 ? 8 : 16)
  for (const b of payload) put(b, 8)
  const capacity = dataCodewords(ver) * 8
  put(0, Math.min(4, capacity - bits.length))
  put(0, (8 - bits.length % 8) % 8)
  const out: number[] = []
  for (let i = 0; i < bits.length; i += 8) out.push(bits.slice(i, i + 8).reduce((n, b) => (n << 1) | b, 0))
  for (let pad = 0xec; out.length < capacity / 8; pad ^= 0xec ^ 0x11) out.push(pad)
  return out
}

/** Splits into blocks, adds each block's error correction, interleaves. */
function withErrorCorrection (data: number[], ver: number): number[] {
  const blocks = BLOCKS[ver]
  const eccLen = ECC_PER_BLOCK[ver]
  const raw = Math.floor(rawDataModules(ver) / 8)
  const shortBlocks = blocks - raw % blocks
  const shortLen = Math.floor(raw / blocks)
  const divisor = rsDivisor(eccLen)
  const all: number[][] = []
  for (let i = 0, k = 0; i < blocks; i++) {
    const dat = data.slice(k, k + shortLen - eccLen + (i < shortBlocks ? 0 : 1))
    k += dat.length
    const ecc = rsRemainder(dat, divisor)
    if (i < shortBlocks) dat.push(0)
    all.push([...dat, ...ecc])
  }
  const out: number[] = []
  for (let i = 0; i < all[0].length; i++) {
    for (let j = 0; j < all.length; j++) {
      // The padding byte of a short block is not sent.
      if (i !== shortLen - eccLen || j >= shortBlocks) out.push(all[j][i])
    }
  }
  return out
}

class Grid {
  readonly modules: boolean[][]
  readonly fn: boolean[][]
  constructor (readonly size: number) {
    this.modules = Array.from({ length: size }, () => new Array<boolean>(size).fill(false))
    this.fn = Array.from({ length: size }, () => new Array<boolean>(size).fill(false))
  }

  setFn (x: number, y: number, dark: boolean): void {
    this.modules[y][x] = dark
    this.fn[y][x] = true
  }
}

function drawFunctionPatterns (g: Grid, ver: number): void {
  const { size } = g
  for (let i = 0; i < size; i++) {
    g.setFn(6, i, i % 2 === 0)
    g.setFn(i, 6, i % 2 === 0)
  }
  for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const x = cx + dx
        const y = cy + dy
        const d = Math.max(Math.abs(dx), Math.abs(dy))
        if (x >= 0 && x < size && y >= 0 && y < size) g.setFn(x, y, d !== 2 && d !== 4)
      }
    }
  }
  const pos = alignmentPositions(ver)
  const last = pos.length - 1
  for (let i = 0; i <= last; i++) {
    for (let j = 0; j <= last; j++) {
      // Not over the finder patterns.
      if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) continue
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) g.setFn(pos[i] + dx, pos[j] + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1)
      }
    }
  }
  drawFormat(g, 0)
  if (ver >= 7) {
    let rem = ver
    for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25)
    const bits = (ver << 12) | rem
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >>> i) & 1) !== 0
      const a = size - 11 + i % 3
      const b = Math.floor(i / 3)
      g.setFn(a, b, dark)
      g.setFn(b, a, dark)
    }
  }
}

/** The 15 format bits (level M, `mask`) in both places, and the dark module. */
function drawFormat (g: Grid, mask: number): void {
  const data = (LEVEL_M_BITS << 3) | mask
  let rem = data
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537)
  const bits = ((data << 10) | rem) ^ 0x5412
  const bit = (i: number): boolean => ((bits >>> i) & 1) !== 0
  const { size } = g
  for (let i = 0; i <= 5; i++) g.setFn(8, i, bit(i))
  g.setFn(8, 7, bit(6))
  g.setFn(8, 8, bit(7))
  g.setFn(7, 8, bit(8))
  for (let i = 9; i < 15; i++) g.setFn(14 - i, 8, bit(i))
  for (let i = 0; i < 8; i++) g.setFn(size - 1 - i, 8, bit(i))
  for (let i = 8; i < 15; i++) g.setFn(8, size - 15 + i, bit(i))
  g.setFn(8, size - 8, true)
}

/** Places the codewords in the zigzag order, two columns at a time from the right. */
function drawCodewords (g: Grid, codewords: number[]): void {
  const { size } = g
  let i = 0
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5
    for (let vert = 0; vert < size; vert++) {
      for (let j = 0; j < 2; j++) {
        const x = right - j
        const upward = ((right + 1) & 2) === 0
        const y = upward ? size - 1 - vert : vert
        if (g.fn[y][x] || i >= codewords.length * 8) continue
        g.modules[y][x] = ((codewords[i >>> 3] >>> (7 - (i & 7))) & 1) !== 0
        i++
      }
    }
  }
}

const MASKS: Array<(x: number, y: number) => boolean> = [
  (x, y) => (x + y) % 2 === 0,
  (_x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => (x * y) % 2 + (x * y) % 3 === 0,
  (x, y) => ((x * y) % 2 + (x * y) % 3) % 2 === 0,
  (x, y) => ((x + y) % 2 + (x * y) % 3) % 2 === 0
]

function applyMask (g: Grid, mask: number): void {
  for (let y = 0; y < g.size; y++) {
    for (let x = 0; x < g.size; x++) {
      if (!g.fn[y][x] && MASKS[mask](x, y)) g.modules[y][x] = !g.modules[y][x]
    }
  }
}

/** Runs of one colour, the finder-like 1:1:3:1:1 patterns in a line (rules N1 and N3). */
function linePenalty (line: boolean[]): number {
  let score = 0
  let run = 1
  for (let i = 1; i <= line.length; i++) {
    if (i < line.length && line[i] === line[i - 1]) {
      run++
      continue
    }
    if (run >= 5) score += 3 + run - 5
    run = 1
  }
  const text = line.map(d => d ? '1' : '0').join('')
  for (const pattern of ['10111010000', '00001011101']) {
    for (let at = text.indexOf(pattern); at !== -1; at = text.indexOf(pattern, at + 1)) score += 40
  }
  return score
}

/** The standard's penalty score of a masked symbol (lower reads better). */
function penalty (g: Grid): number {
  const { size, modules } = g
  let score = 0
  for (let y = 0; y < size; y++) score += linePenalty(modules[y])
  for (let x = 0; x < size; x++) score += linePenalty(modules.map(row => row[x]))
  let dark = 0
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (modules[y][x]) dark++
      if (x < size - 1 && y < size - 1) {
        const c = modules[y][x]
        if (c === modules[y][x + 1] && c === modules[y + 1][x] && c === modules[y + 1][x + 1]) score += 3
      }
    }
  }
  const total = size * size
  score += Math.floor(Math.abs(dark * 20 - total * 10) / total) * 10
  return score
}

/** Encodes `payload` (bytes) in the smallest version that holds it. */
export function encodeQr (payload: Uint8Array): QrCode {
  let ver = 1
  while (ver <= 10 && 4 + (ver <= 9 ? 8 : 16) + payload.length * 8 > dataCodewords(ver) * 8) ver++
  if (ver > 10) throw new QrTooLongError(`a QR payload of ${payload.length} bytes is over the ${QR_MAX_BYTES} bytes this encoder takes`)
  const codewords = withErrorCorrection(dataBytes(payload, ver), ver)
  const size = ver * 4 + 17
  let best: { grid: Grid, mask: number, score: number } | undefined
  for (let mask = 0; mask < 8; mask++) {
    const g = new Grid(size)
    drawFunctionPatterns(g, ver)
    drawCodewords(g, codewords)
    applyMask(g, mask)
    drawFormat(g, mask)
    const score = penalty(g)
    if (best == null || score < best.score) best = { grid: g, mask, score }
  }
  if (best == null) throw new Error('unreachable: eight masks tried')
  return { version: ver, size, mask: best.mask, modules: best.grid.modules }
}

/** An SVG path ("M x y h1 v1 h-1 z" per dark module), offset by a quiet zone of `margin` modules. */
export function qrPath (code: QrCode, margin = 4): string {
  const parts: string[] = []
  for (let y = 0; y < code.size; y++) {
    for (let x = 0; x < code.size; x++) {
      if (code.modules[y][x]) parts.push(`M${x + margin} ${y + margin}h1v1h-1z`)
    }
  }
  return parts.join('')
}
