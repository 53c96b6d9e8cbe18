/**
 * The web app's QR encoder (web/src/app/qr.ts): every code it draws, from
 * one byte to the largest it takes and across versions 1 to 10 (one block
 * and several, with and without the version information), is read back
 * with zbar (Debian's zbar-tools, installed by .ci/run) to the very same
 * bytes; a payload over the limit is refused by name.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32, deflateSync } from 'node:zlib'
import { QR_MAX_BYTES, encodeQr } from '../../../web/src/app/qr.js'
import type { QrCode } from '../../../web/src/app/qr.js'

const SCALE = 4
const MARGIN = 4

/** A greyscale PNG of the code: `SCALE` pixels a module, a quiet zone of `MARGIN` modules. */
function png (code: QrCode): Buffer {
  const side = (code.size + 2 * MARGIN) * SCALE
  const raw = Buffer.alloc(side * (side + 1), 0xff)
  for (let py = 0; py < side; py++) {
    raw[py * (side + 1)] = 0
    for (let px = 0; px < side; px++) {
      const x = Math.floor(px / SCALE) - MARGIN
      const y = Math.floor(py / SCALE) - MARGIN
      if (x >= 0 && y >= 0 && x < code.size && y < code.size && code.modules[y][x]) raw[py * (side + 1) + 1 + px] = 0
    }
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const out = Buffer.alloc(12 + data.length)
    out.writeUInt32BE(data.length, 0)
    body.copy(out, 4)
    out.writeUInt32BE(crc32(body), 8 + data.length)
    return out
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(side, 0)
  ihdr.writeUInt32BE(side, 4)
  ihdr[8] = 8
  ihdr[9] = 0
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

describe('web: QR encoder', function () {
  this.timeout(60_000)
  const dir = mkdtempSync(join(tmpdir(), 'starling-qr-'))
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  /** What zbar reads from the code, as bytes. */
  function decode (code: QrCode): Buffer {
    const file = join(dir, `qr-${code.version}-${code.mask}.png`)
    writeFileSync(file, png(code))
    return execFileSync('zbarimg', ['--quiet', '--raw', '-Sbinary', file], { stdio: ['ignore', 'pipe', 'ignore'] })
  }

  let seed = 7
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff)

  for (const length of [1, 14, 15, 40, 74, 100, 130, 154, 180, QR_MAX_BYTES]) {
    it(`${length} bytes: read back the same`, () => {
      const payload = bytes(length)
      const code = encodeQr(payload)
      assert.equal(code.size, code.version * 4 + 17)
      // zbar prints a newline after the data.
      assert.equal(decode(code).subarray(0, length).toString('hex'), Buffer.from(payload).toString('hex'))
    })
  }

  it('uses the smallest version: 14 bytes fit version 1, 15 need version 2, 213 need 10', () => {
    assert.deepEqual([14, 15, 74, QR_MAX_BYTES].map(n => encodeQr(bytes(n)).version), [1, 2, 5, 10])
  })

  it('refuses a payload over the limit by name', () => {
    assert.throws(() => encodeQr(bytes(QR_MAX_BYTES + 1)), { name: 'QrTooLongError' })
  })
})
