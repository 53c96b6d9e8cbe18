/**
 * Imports flow one way (DESIGN.md, Layers and folders): node/ and web/ call
 * src/peer, which assembles src/messenger and the rest; wire protocols and
 * the network layer know no conversations, and nothing in src/ imports
 * from node/ or web/. Read from the sources' import statements.
 */
import assert from 'node:assert/strict'
import { readFile, readdir } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CHUNK_TAG_BYTES } from '../../src/messenger/attachments/index.js'
import { MAX_CHUNK_SIZE } from '../../src/messenger/model/constants.js'
import { MAX_CHUNK_BYTES, MAX_CHUNK_CIPHERTEXT_BYTES } from '../../src/protocols/attachment/index.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

async function sources (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await sources(path))
    else if (entry.name.endsWith('.ts')) out.push(path)
  }
  return out
}

/** Every relative import of `file` (static, dynamic and type-only), as a path from the repository root. */
async function importsOf (file: string): Promise<string[]> {
  const text = await readFile(join(ROOT, file), 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
    out.push(relative(ROOT, resolve(ROOT, dirname(file), m[1])))
  }
  return out
}

/** `file -> import` for every import of the files under `from` that lands under one of `forbidden`. */
async function crossings (from: string, forbidden: string[]): Promise<string[]> {
  const out: string[] = []
  for (const file of await sources(from)) {
    for (const target of await importsOf(file)) {
      if (forbidden.some(f => target === f || target.startsWith(`${f}/`))) out.push(`${file} -> ${target}`)
    }
  }
  return out
}

describe('layers: imports flow one way', () => {
  it('wire protocols, calls and the network layer import neither the messenger nor the peer assembly', async () => {
    assert.deepEqual(await crossings('src/protocols', ['src/messenger', 'src/peer']), [])
    assert.deepEqual(await crossings('src/net', ['src/messenger', 'src/peer']), [])
    assert.deepEqual(await crossings('src/calls', ['src/messenger', 'src/peer']), [])
  })

  it('the messenger does not import the peer assembly; nothing in src/ imports node/ or web/', async () => {
    assert.deepEqual(await crossings('src/messenger', ['src/peer']), [])
    assert.deepEqual(await crossings('src', ['node', 'web']), [])
  })

  it('the attachment protocol carries every chunk the messenger makes (its own limit, not the messenger\'s)', () => {
    assert.ok(MAX_CHUNK_SIZE <= MAX_CHUNK_BYTES, `chunk size ${MAX_CHUNK_SIZE} over the protocol's ${MAX_CHUNK_BYTES}`)
    assert.ok(MAX_CHUNK_SIZE + CHUNK_TAG_BYTES <= MAX_CHUNK_CIPHERTEXT_BYTES)
  })
})
