/**
 * The tab's open thread (web/src/app/client.ts): a refresh that began for
 * one conversation never puts it back after another was opened or it was
 * closed. On a busy machine a refresh for bob still reading when the user
 * opened carol used to leave bob's thread on carol's screen for good.
 */
import assert from 'node:assert/strict'
import { RunningPeer } from '../../../web/src/app/client.js'
import { StateBox } from '../../../web/src/app/state.js'
import type { AppState } from '../../../web/src/app/state.js'

/** A messenger whose conversations are read only when the test lets them. */
function fakePeer () {
  const waiting: Array<{ handle: string, release: () => void }> = []
  let reads = 0
  const account = (handle: string): string => Buffer.from(handle.padEnd(32, '.')).toString('hex')
  const messenger = {
    init: { identity: { accountPublicKey: new Uint8Array(32) } },
    contacts: { list: async () => [] },
    conversation: async (handle: string) => {
      // Each read finds one message more than the one before (messages keep arriving).
      const found = ++reads
      await new Promise<void>(resolve => { waiting.push({ handle, release: resolve }) })
      return { handle, account: account(handle), view: { messages: Array.from({ length: found }, (_, i) => ({ id: `m${i}`, author: { account: new Uint8Array(32), device: new Uint8Array(4) } })) }, statuses: {} }
    }
  }
  const peer = { identity: { accountPublicKey: new Uint8Array(32) }, messenger }
  /** Lets the oldest read of `handle` finish. */
  const release = async (handle: string): Promise<void> => {
    for (let i = 0; i < 100 && !waiting.some(w => w.handle === handle); i++) await new Promise(resolve => setImmediate(resolve))
    const at = waiting.findIndex(w => w.handle === handle)
    assert.ok(at >= 0, `a read of ${handle} is waiting`)
    waiting.splice(at, 1)[0].release()
    for (let i = 0; i < 10; i++) await new Promise(resolve => setImmediate(resolve))
  }
  /** Lets the newest read of `handle` finish. */
  const releaseNewest = async (handle: string): Promise<void> => {
    for (let i = 0; i < 100 && !waiting.some(w => w.handle === handle); i++) await new Promise(resolve => setImmediate(resolve))
    const at = waiting.map(w => w.handle).lastIndexOf(handle)
    assert.ok(at >= 0, `a read of ${handle} is waiting`)
    waiting.splice(at, 1)[0].release()
    for (let i = 0; i < 10; i++) await new Promise(resolve => setImmediate(resolve))
  }
  /** Waits until `n` reads of `handle` wait. */
  const waitingReads = async (handle: string, n: number): Promise<void> => {
    for (let i = 0; i < 100 && waiting.filter(w => w.handle === handle).length < n; i++) await new Promise(resolve => setImmediate(resolve))
    assert.equal(waiting.filter(w => w.handle === handle).length, n)
  }
  return { peer, release, releaseNewest, waitingReads }
}

function setUp () {
  const { peer, release, releaseNewest, waitingReads } = fakePeer()
  const state = new StateBox({ phase: 'running', profile: 'p', conversations: [], typing: [], connectivity: { relays: 0, reserved: 0 } } satisfies AppState)
  const running = new RunningPeer(peer as never, state, () => ({ readReceipts: true }) as never, () => {})
  return { running, state, release, releaseNewest, waitingReads }
}

describe('web: the open thread', function () {
  it('a refresh begun for bob does not cover carol once carol is open', async () => {
    const { running, state, release } = setUp()
    const bob = running.openThread('bob~aaaa')
    await release('bob~aaaa')
    await release('bob~aaaa')
    await bob
    assert.equal(state.get().thread?.handle, 'bob~aaaa')

    const stale = running.refresh()
    running.closeThread()
    const carol = running.openThread('carol~bbbb')
    await release('carol~bbbb')
    await release('carol~bbbb')
    await carol
    assert.equal(state.get().thread?.handle, 'carol~bbbb')
    await release('bob~aaaa')
    await stale
    assert.equal(state.get().thread?.handle, 'carol~bbbb', 'the old refresh left carol shown')
  })

  it('a refresh begun before the thread closed does not open it again', async () => {
    const { running, state, release } = setUp()
    const bob = running.openThread('bob~aaaa')
    await release('bob~aaaa')
    await release('bob~aaaa')
    await bob
    const stale = running.refresh()
    running.closeThread()
    await release('bob~aaaa')
    await stale
    assert.equal(state.get().thread, undefined)
  })

  it('opening bob then carol at once shows carol, whichever read finishes first', async () => {
    const { running, state, release } = setUp()
    const bob = running.openThread('bob~aaaa')
    running.closeThread()
    const carol = running.openThread('carol~bbbb')
    await release('carol~bbbb')
    await release('carol~bbbb')
    await carol
    await release('bob~aaaa')
    await bob
    assert.equal(state.get().thread?.handle, 'carol~bbbb')
  })

  it('two reads of the open thread that end in the other order: the newer one stays shown', async () => {
    const { running, state, release, releaseNewest, waitingReads } = setUp()
    const bob = running.openThread('bob~aaaa')
    await release('bob~aaaa')
    await release('bob~aaaa')
    await bob
    const older = running.refresh()
    await waitingReads('bob~aaaa', 1)
    const newer = running.refresh()
    await waitingReads('bob~aaaa', 2)
    // The newer read ends first, with more messages.
    await releaseNewest('bob~aaaa')
    await newer
    const shown = state.get().thread?.messages.length ?? 0
    assert.ok(shown > 0)
    await release('bob~aaaa')
    await older
    assert.equal(state.get().thread?.messages.length, shown, 'the older read put back fewer messages')
  })
})
