/**
 * SIGKILL against the relay's puts: a child runs an EnvelopeStore on
 * LevelDB with many putters from several sources into three mailboxes (so
 * puts of one mailbox share a synced write, put-group.ts, and quotas refuse
 * some) while owners' deletes empty them now and then; it prints each put's
 * acknowledgement once the put resolved, and is killed while writes are in
 * flight. Reopened: every acknowledged put is held (or its owner deleted
 * it: a tombstone says so), and the books equal a recount of the disk, so
 * no source can get past its budget and none is locked out.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { fromHex } from '../../../src/crypto/bytes.js'
import { EnvelopeStore } from '../../../src/relay/index.js'
import { indexKey, tombstoneKey } from '../../../src/relay/keys.js'
import { itemKey } from '../../../src/relay/tombstones.js'
import { LevelStore } from '../../../src/store/index.js'
import { assertBooks } from './books.js'
import { tempDir } from './helpers.js'

const WRITER = fileURLToPath(new URL('./fixtures/put-crash-writer.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

describe('relay/envelope-store: killed with SIGKILL while puts are in flight', function () {
  this.timeout(120_000)

  it('loses no acknowledged put, and the books on disk equal what it holds', async () => {
    const PUTTERS = 24
    const TARGET_ACKS = 1_500
    const dir = await tempDir()
    try {
      const location = `${dir.dir}/db`
      const child = spawn(process.execPath, ['--import', 'tsx', WRITER, location, String(PUTTERS)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
      const acked: string[][] = []
      let stderr = ''
      let buffered = ''
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
      const exited = new Promise<NodeJS.Signals | null>((resolve, reject) => {
        child.on('error', reject)
        child.on('exit', (_code, signal) => { resolve(signal) })
      })
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString()
        const lines = buffered.split('\n')
        buffered = lines.pop() ?? ''
        for (const line of lines) {
          const m = /^ack ([0-9a-f]{64}) ([0-9a-f]{32}) ([0-9a-f]{64})$/.exec(line)
          if (m != null) acked.push([m[1], m[2], m[3]])
        }
        // Killed right after acknowledgements arrive, while other puts' writes are in flight.
        if (acked.length >= TARGET_ACKS && child.exitCode === null && !child.killed) child.kill('SIGKILL')
      })
      assert.equal(await exited, 'SIGKILL', `the writer ended on its own: ${stderr}`)

      const level = new LevelStore(location)
      await level.open()
      try {
        for (const [mailbox, id, hash] of acked) {
          const [m, i, h] = [fromHex(mailbox), fromHex(id), fromHex(hash)]
          const held = await level.get('relay', indexKey(m, i, h)) !== undefined
          const deleted = await level.get('relay', tombstoneKey(itemKey(m, i, h))) !== undefined
          assert.ok(held || deleted, `an acknowledged put into mailbox ${mailbox.slice(0, 4)} is lost`)
        }
        const r = await assertBooks(level, 'after SIGKILL')
        assert.ok(r.total.count > 0)
        // And the store opened on it checks against the same total.
        await assertBooks(level, 'reopened', new EnvelopeStore(level))
      } finally {
        await level.close()
      }
    } finally {
      await dir.remove()
    }
  })
})
