/** A call recording (node/calls/wav.ts) is written whole or not at all: a reader never sees it empty or cut short. */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseWav, writeWav } from '../../../node/calls/wav.js'

describe('node: writing a WAV recording', function () {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'starling-wav-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('while recordings are written over an old one, every read finds a whole WAV file, the old or the new', async () => {
    const path = join(dir, 'heard.wav')
    await writeWav(path, new Int16Array(10).fill(1))
    const long = new Int16Array(48_000 * 20).fill(7)
    let reads = 0
    for (let round = 0; round < 20; round++) {
      let done = false
      const writing = writeWav(path, long).finally(() => { done = true })
      while (!done) {
        const samples = parseWav(await readFile(path), 'heard.wav')
        assert.ok(samples.length === 10 || samples.length === long.length, `${samples.length} samples`)
        reads++
      }
      await writing
    }
    assert.equal(parseWav(await readFile(path), 'heard.wav').length, long.length)
    assert.ok(reads > 0)
    assert.deepEqual(await readdir(dir), ['heard.wav'], 'nothing left beside it')
  })

  it('a write that fails leaves the old file and nothing beside it', async () => {
    const path = join(dir, 'heard.wav')
    await writeFile(path, 'old')
    await assert.rejects(writeWav(join(dir, 'missing', 'heard.wav'), new Int16Array(4)))
    assert.equal(await readFile(path, 'utf8'), 'old')
    assert.deepEqual(await readdir(dir), ['heard.wav'])
  })
})
