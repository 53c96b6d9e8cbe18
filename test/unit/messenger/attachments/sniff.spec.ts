import assert from 'node:assert/strict'
import { checkAttachmentType, sniffFormat } from '../../../../src/messenger/attachments/index.js'
import type { AttachmentKind } from '../../../../src/messenger/model/index.js'
import { HEADS, fileOf } from './helpers.js'

const TABLE: Array<[keyof typeof HEADS, string, AttachmentKind]> = [
  ['png', 'PNG', 'image'],
  ['jpeg', 'JPEG', 'image'],
  ['gif', 'GIF', 'gif'],
  ['webp', 'WebP', 'image'],
  ['ogg', 'Ogg', 'audio'],
  ['webm', 'WebM', 'audio'],
  ['mp3Id3', 'MP3', 'audio'],
  ['mp3Frame', 'MP3', 'audio'],
  ['m4a', 'M4A', 'audio'],
  ['aac', 'AAC', 'audio'],
  ['wav', 'WAV', 'audio']
]

function typeErrorOf (fn: () => void): string | undefined {
  try {
    fn()
    return undefined
  } catch (err) {
    return (err as Error).name
  }
}

describe('messenger/attachments/sniff', () => {
  for (const [head, format, kind] of TABLE) {
    it(`recognises ${head} as ${format}, sendable as ${kind} with ${HEADS[head].mime}`, () => {
      const bytes = fileOf(HEADS[head].bytes, 200)
      assert.equal(sniffFormat(bytes)?.name, format)
      assert.doesNotThrow(() => { checkAttachmentType(kind, HEADS[head].mime, bytes) })
      assert.doesNotThrow(() => { checkAttachmentType('file', 'application/octet-stream', bytes) })
      for (const other of ['image', 'gif', 'audio'] as const) {
        if (other === kind || (format === 'GIF' && other === 'image')) continue
        assert.equal(typeErrorOf(() => { checkAttachmentType(other, HEADS[head].mime, bytes) }), 'AttachmentTypeError', `${head} as ${other}`)
      }
    })
  }

  it('lets a GIF be an image too, never an image a GIF', () => {
    assert.doesNotThrow(() => { checkAttachmentType('image', 'image/gif', fileOf(HEADS.gif.bytes, 50)) })
    assert.equal(typeErrorOf(() => { checkAttachmentType('gif', 'image/png', fileOf(HEADS.png.bytes, 50)) }), 'AttachmentTypeError')
  })

  it('refuses a MIME type that names another format, accepts aliases and parameters', () => {
    assert.equal(typeErrorOf(() => { checkAttachmentType('image', 'image/jpeg', fileOf(HEADS.png.bytes, 50)) }), 'AttachmentTypeError')
    assert.equal(typeErrorOf(() => { checkAttachmentType('audio', 'audio/ogg', fileOf(HEADS.wav.bytes, 50)) }), 'AttachmentTypeError')
    assert.doesNotThrow(() => { checkAttachmentType('image', 'IMAGE/JPG', fileOf(HEADS.jpeg.bytes, 50)) })
    assert.doesNotThrow(() => { checkAttachmentType('audio', 'audio/ogg; codecs=opus', fileOf(HEADS.ogg.bytes, 50)) })
  })

  it('refuses unknown, empty and too-short bytes for media kinds, takes anything as a file', () => {
    for (const bytes of [new Uint8Array(0), Uint8Array.from([0x89, 0x50]), fileOf([0x00, 0x01], 100), fileOf([...'RIFF'].map(c => c.charCodeAt(0)), 100)]) {
      assert.equal(sniffFormat(bytes), undefined)
      for (const kind of ['image', 'gif', 'audio'] as const) {
        assert.equal(typeErrorOf(() => { checkAttachmentType(kind, 'image/png', bytes) }), 'AttachmentTypeError')
      }
      assert.doesNotThrow(() => { checkAttachmentType('file', 'application/zip', bytes) })
    }
  })

  it('takes an EBML file as WebM only when its DocType says webm (Matroska is not)', () => {
    const matroska = HEADS.webm.bytes.map((b, i) => i >= HEADS.webm.bytes.length - 4 ? 'mkv\u0000'.charCodeAt(i - HEADS.webm.bytes.length + 4) : b)
    assert.equal(sniffFormat(fileOf(matroska, 100)), undefined)
    assert.equal(sniffFormat(fileOf(HEADS.webm.bytes.slice(0, 8), 100)), undefined)
  })

  it('does not take an MPEG frame with a reserved version, a bad bitrate or another layer for MP3', () => {
    assert.equal(sniffFormat(Uint8Array.from([0xff, 0xeb, 0x90])), undefined) // version 01 (reserved)
    assert.equal(sniffFormat(Uint8Array.from([0xff, 0xfb, 0xf0])), undefined) // bitrate 1111
    assert.equal(sniffFormat(Uint8Array.from([0xff, 0xfd, 0x90]))?.name, undefined) // layer II
  })
})
