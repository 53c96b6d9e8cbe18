import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LevelStore } from '../../../src/store/index.js'
import { entryFor } from './fixtures/crash-data.js'
import { collect } from './helpers.js'

const HELPER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

describe('store: crash durability (child killed with SIGKILL)', () => {
  let dir: string

  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'starling-crash-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('loses nothing that a synced group commit acknowledged', async () => {
    const WRITERS = 8
    const TARGET_ACKS = 400
    const child = spawn(process.execPath, ['--import', 'tsx', HELPER, join(dir, 'db'), String(WRITERS)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    const acked: Array<[number, number]> = []
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    let buffered = ''
    const exited = new Promise<NodeJS.Signals | null>((resolve, reject) => {
      child.on('error', reject)
      child.on('exit', (_code, signal) => { resolve(signal) })
    })
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) {
        const m = /^ack (\d+) (\d+)$/.exec(line)
        if (m != null) acked.push([Number(m[1]), Number(m[2])])
      }
      // Kill right after acknowledgements arrive, while writes are in flight.
      if (acked.length >= TARGET_ACKS && child.exitCode === null && !child.killed) child.kill('SIGKILL')
    })
    const signal = await exited
    assert.equal(signal, 'SIGKILL', `child ended on its own: ${stderr}`)
    assert.ok(acked.length >= TARGET_ACKS)

    const store = new LevelStore(join(dir, 'db'))
    await store.open()
    try {
      for (const [w, seq] of acked) {
        const { key, value } = entryFor(w, seq)
        assert.deepEqual(await store.get('messages', key), value, `lost w${w} seq ${seq}`)
        assert.deepEqual(await store.get('dedup', key), new Uint8Array([1]))
      }
      // Atomic across namespaces: no message without its marker, and the reverse.
      const messages = (await collect(store.iterate('messages'))).length
      const markers = (await collect(store.iterate('dedup'))).length
      assert.equal(messages, markers)
      assert.ok(messages >= acked.length)
    } finally {
      await store.close()
    }
  })
})
