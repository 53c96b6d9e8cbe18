/** Shared fixtures for attachment tests: file heads of each sniffed format, assertion helpers. */
import assert from 'node:assert/strict'

const ascii = (s: string): number[] => [...s].map(c => c.charCodeAt(0))

/** A file head of each format the type check knows, with a MIME type that names it. */
export const HEADS = {
  png: { mime: 'image/png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, ...ascii('IHDR')] },
  jpeg: { mime: 'image/jpeg', bytes: [0xff, 0xd8, 0xff, 0xe0, 0, 16, ...ascii('JFIF')] },
  gif: { mime: 'image/gif', bytes: ascii('GIF89a\u0001\u0000\u0001\u0000') },
  webp: { mime: 'image/webp', bytes: [...ascii('RIFF'), 0x24, 0, 0, 0, ...ascii('WEBPVP8 ')] },
  webm: { mime: 'audio/webm', bytes: [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0xf7, 0x81, 0x01, 0x42, 0xf2, 0x81, 0x04, 0x42, 0xf3, 0x81, 0x08, 0x42, 0x82, 0x84, ...ascii('webm')] },
  ogg: { mime: 'audio/ogg', bytes: [...ascii('OggS'), 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, ...ascii('OpusHead')] },
  mp3Id3: { mime: 'audio/mpeg', bytes: [...ascii('ID3'), 4, 0, 0, 0, 0, 0, 0] },
  mp3Frame: { mime: 'audio/mpeg', bytes: [0xff, 0xfb, 0x90, 0x64, 0, 0] },
  m4a: { mime: 'audio/mp4', bytes: [0, 0, 0, 0x20, ...ascii('ftypM4A '), 0, 0, 0, 0] },
  aac: { mime: 'audio/aac', bytes: [0xff, 0xf1, 0x50, 0x80, 0, 0x1f, 0xfc] },
  wav: { mime: 'audio/wav', bytes: [...ascii('RIFF'), 0x24, 0, 0, 0, ...ascii('WAVEfmt ')] }
} as const

/** `head` followed by `size - head.length` pseudo-random bytes. */
export function fileOf (head: readonly number[], size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = i < head.length ? head[i] : x >>> 24
  }
  return out
}

/** Asserts that `promise` rejects with an error named `name`. */
export async function rejectsNamed (promise: Promise<unknown>, name: string): Promise<void> {
  await assert.rejects(promise, (err: Error) => {
    assert.equal(err.name, name, err.message)
    return true
  })
}

/** Collects an async iterable of byte pieces into one array. */
export async function collect (pieces: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of pieces) parts.push(p)
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}
