/**
 * The image header reader (web/src/app/image-size.ts) that decides whether a
 * received image is decoded on screen: the stated size of PNG (a real file
 * made with zlib), GIF, JPEG (after an EXIF segment) and the three WebP
 * forms; a decompression bomb's header (60,000 x 60,000) is not safe to
 * show, nor is a header cut short or of no known format; random bytes never
 * throw. Chromium's own JPEG, WebP and PNG encoders are checked against it
 * in test/browser/attack.spec.ts.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { MAX_INLINE_IMAGE_PIXELS, imageSize, safeToShow } from '../../../web/src/app/image-size.js'
import { greyPng } from '../../fixtures/images.js'

function gif (width: number, height: number): Buffer {
  const b = Buffer.from('GIF89a\0\0\0\0\0\0\0', 'latin1')
  b.writeUInt16LE(width, 6)
  b.writeUInt16LE(height, 8)
  return b
}

/** A JPEG start: SOI, an APP1 (EXIF) segment of `exif` bytes, then SOF2 (progressive). */
function jpeg (width: number, height: number, exif = 1000): Buffer {
  const app1 = Buffer.alloc(4 + exif)
  app1.writeUInt16BE(0xffe1, 0)
  app1.writeUInt16BE(exif + 2, 2)
  const sof = Buffer.from([0xff, 0xc2, 0x00, 0x11, 0x08, 0, 0, 0, 0, 0x03])
  sof.writeUInt16BE(height, 5)
  sof.writeUInt16BE(width, 7)
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app1, sof, Buffer.alloc(16)])
}

function webp (kind: 'VP8 ' | 'VP8L' | 'VP8X', width: number, height: number): Buffer {
  const b = Buffer.alloc(40)
  b.write('RIFF', 0, 'ascii')
  b.write('WEBP', 8, 'ascii')
  b.write(kind, 12, 'ascii')
  if (kind === 'VP8X') {
    b.writeUIntLE(width - 1, 24, 3)
    b.writeUIntLE(height - 1, 27, 3)
  } else if (kind === 'VP8L') {
    b[20] = 0x2f
    b.writeUInt32LE(((width - 1) & 0x3fff) | (((height - 1) & 0x3fff) << 14), 21)
  } else {
    b.writeUInt16LE(width, 26)
    b.writeUInt16LE(height, 28)
  }
  return b
}

describe('web: image sizes read before decoding', function () {
  it('reads the size each format states', () => {
    assert.deepEqual(imageSize(greyPng(640, 480)), { width: 640, height: 480 })
    assert.deepEqual(imageSize(gif(320, 200)), { width: 320, height: 200 })
    assert.deepEqual(imageSize(jpeg(4000, 3000)), { width: 4000, height: 3000 })
    assert.deepEqual(imageSize(webp('VP8 ', 1024, 768)), { width: 1024, height: 768 })
    assert.deepEqual(imageSize(webp('VP8L', 1000, 16384)), { width: 1000, height: 16384 })
    assert.deepEqual(imageSize(webp('VP8X', 16_000_000, 16)), { width: 16_000_000, height: 16 })
  })

  it('a decompression bomb is not safe to show; a phone photo is', () => {
    const bomb = greyPng(60_000, 60_000, 10)
    assert.ok(bomb.length < 2_000, `the bomb is ${bomb.length} bytes`)
    assert.equal(safeToShow(bomb), false)
    assert.equal(safeToShow(greyPng(20_000, 20_000, 1)), false)
    assert.equal(safeToShow(webp('VP8X', 16_000_000, 16)), false)
    assert.equal(safeToShow(jpeg(65535, 65535)), false)
    assert.equal(safeToShow(jpeg(8000, 6000)), true)
    assert.equal(safeToShow(greyPng(1, 1)), true)
    assert.equal(8000 * 6000 <= MAX_INLINE_IMAGE_PIXELS, true)
  })

  it('a header cut short, a zero size or no known format is not safe to show', () => {
    const png = greyPng(100, 100)
    assert.equal(safeToShow(png.subarray(0, 20)), false)
    assert.equal(safeToShow(greyPng(0, 100)), false)
    assert.equal(safeToShow(jpeg(100, 100, 60_000).subarray(0, 1_000)), false)
    assert.equal(safeToShow(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), false)
    assert.equal(safeToShow(Buffer.alloc(0)), false)
  })

  it('random bytes never throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64, size: 'max' }), fc.constantFrom(...[[], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], [0xff, 0xd8], [...Buffer.from('GIF89a')], [...Buffer.from('RIFF\0\0\0\0WEBP')]]), (tail, prefix) => {
      const bytes = new Uint8Array([...prefix, ...tail])
      const size = imageSize(bytes)
      assert.ok(size == null || (Number.isInteger(size.width) && Number.isInteger(size.height) && size.width >= 0 && size.height >= 0))
    }))
  })
})
