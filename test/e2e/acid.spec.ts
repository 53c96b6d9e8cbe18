/**
 * The acid test (issue 4, item 8): after messages both ways, some of them
 * through the relay to offline recipients, nothing the relay stored on disk
 * and nothing it published on the mailbox gossip topics contains a message
 * text, a sender's handle, account key or peer id (as a string or as raw
 * multihash bytes). Positive controls show that the same search does find
 * what is there: mailbox ids in the relay's files and gossip, handles in the
 * relay's public DHT records, the texts in the users' own stores.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import { Network, Processes, eventually, startTestNode } from './harness.js'
import type { HistoryMessage, User } from './harness.js'
import { allShardTopics, mailboxId } from '../../src/protocols/store/index.js'
import { mailboxGossipsubOptions } from '../../src/relay/index.js'
import { GossipDelete, MailboxGossip } from '../../src/protocols/store/pb/store.js'
import type { StarlingLibp2p } from '../../src/net/node.js'
import { LevelStore, NAMESPACES } from '../../src/store/index.js'

interface Sent { id: string, state: string }

/** Something to look for, by name. */
interface Needle {
  what: string
  bytes: Uint8Array
}

/** Every regular file under `dir`, with its raw bytes. */
async function filesUnder (dir: string): Promise<Array<{ path: string, bytes: Buffer }>> {
  const out: Array<{ path: string, bytes: Buffer }> = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    out.push({ path, bytes: await readFile(path) })
  }
  return out
}

/**
 * Every key and value of a LevelDB store, decoded. LevelDB compresses its
 * table files (snappy), which can split a string across a back-reference,
 * so raw file bytes alone could miss (or fail to find) a needle.
 */
async function storeEntries (dir: string): Promise<Array<{ path: string, bytes: Uint8Array }>> {
  const store = new LevelStore(dir)
  await store.open()
  const out: Array<{ path: string, bytes: Uint8Array }> = []
  try {
    for (const namespace of NAMESPACES) {
      for await (const [key, value] of store.iterate(namespace)) {
        out.push({ path: `${dir} ${namespace} key`, bytes: key }, { path: `${dir} ${namespace} value`, bytes: value })
      }
    }
  } finally {
    await store.close()
  }
  return out
}

/** The needles found in any of `haystacks`, as "what in where". */
function search (needles: Needle[], haystacks: Array<{ path: string, bytes: Uint8Array }>): string[] {
  const found: string[] = []
  for (const n of needles) {
    for (const h of haystacks) {
      if (Buffer.from(h.bytes.buffer, h.bytes.byteOffset, h.bytes.byteLength).indexOf(n.bytes) >= 0) found.push(`${n.what} in ${h.path}`)
    }
  }
  return found
}

/** The first byte of the key a relay keeps a signed delete under (src/relay/keys.ts). */
const PROOF_KEY_PREFIX = 0x50

const text = (what: string, s: string): Needle => ({ what, bytes: Buffer.from(s, 'utf8') })

describe('e2e: the acid test — relays see no content and no sender', function () {
  this.timeout(240_000)
  const procs = new Processes()
  const net = new Network(procs)
  let spy: StarlingLibp2p | undefined

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.describe())
  })
  after(async () => {
    await spy?.stop()
    await procs.stopAll()
  })

  it('no plaintext, handle, account key or peer id of a sender in the relay\'s files or gossip; the controls are found', async () => {
    // A gossip observer on the relay's mailbox shards records every payload the relay publishes:
    // a relay gossips only with the relays it links with, so the observer is one (--peer).
    spy = await startTestNode({ pubsub: gossipsub(mailboxGossipsubOptions({ loopback: true, relaySet: { has: () => true } })) })
    const relay = await net.startRelay(undefined, 0, ['--peer', spy.getMultiaddrs()[0].toString()])
    const pubsub = spy.services.pubsub as GossipSub
    const gossip: Array<{ path: string, bytes: Uint8Array }> = []
    pubsub.addEventListener('message', (evt: CustomEvent<Message>) => {
      gossip.push({ path: `gossip #${gossip.length} on ${evt.detail.topic}`, bytes: evt.detail.data })
    })
    for (const topic of allShardTopics()) pubsub.subscribe(topic)
    await spy.dial(multiaddr(relay.addr))
    await eventually(async () => pubsub.getSubscribers(allShardTopics()[0]).length > 0 ? true : undefined, 15_000, 'the relay in the gossip observer\'s view')

    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    let aliceDaemon = await net.startDaemon(alice, [relay.addr])
    let bobDaemon = await net.startDaemon(bob, [relay.addr])
    const texts: string[] = []
    const tokens: string[] = []
    const ids: string[] = []
    const send = async (from: User, to: User, label: string): Promise<void> => {
      // The random token is what can only come from this message (LevelDB
      // compresses tables, and a label repeated across messages may not stay
      // contiguous on disk).
      const token = randomBytes(12).toString('hex')
      const t = `${label} ${token}`
      texts.push(t)
      tokens.push(token)
      ids.push((await net.call<Sent>(from, 'send', { handle: to.name, confirm: true, text: t })).id)
    }
    const states = async (): Promise<HistoryMessage[]> => net.history(alice, bob)

    // Online, both ways (direct).
    for (let i = 0; i < 3; i++) {
      await send(alice, bob, 'direct from alice')
      await send(bob, alice, 'direct from bob')
    }
    await eventually(async () => {
      const [a, b] = await Promise.all([net.history(alice, bob), net.history(bob, alice)])
      return [...a, ...b].filter(m => m.sendState === 'delivered').length === 6 ? true : undefined
    }, 30_000, 'the six direct messages delivered')
    // Bob offline: alice's messages wait on the relay.
    await procs.stop(bobDaemon)
    for (let i = 0; i < 5; i++) await send(alice, bob, 'relayed from alice')
    // And a file, whose encrypted chunks travel through the relay too.
    const attachment = randomBytes(150_000)
    const attachmentPath = join(alice.dir, 'secret-plans.bin')
    await writeFile(attachmentPath, attachment)
    {
      const token = randomBytes(12).toString('hex')
      const caption = `attachment from alice ${token}`
      texts.push(caption)
      tokens.push(token)
      ids.push((await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: caption, attachments: [attachmentPath] })).id)
    }
    await eventually(async () => (await states()).filter(m => m.sendState === 'relayed').length === 6 ? true : undefined, 30_000, 'five messages and the file held by the relay')
    // The file's chunks travel as outbox entries of their own, after its message: all with the relay before alice goes.
    await eventually(async () => (await net.call<{ unrelayed: number }>(alice, 'status')).unrelayed === 0 ? true : undefined, 30_000, 'the file\'s chunks held by the relay')
    // Alice offline, bob back: he fetches, his receipts and answers wait for her.
    await procs.stop(aliceDaemon)
    bobDaemon = await net.startDaemon(bob, [relay.addr])
    await eventually(async () => (await net.history(bob, alice)).length === 12 ? true : undefined, 30_000, 'bob fetched the five and the file')
    await eventually(async () => (await net.history(bob, alice)).find(m => m.kind === 'attachment')?.attachmentState?.complete === true ? true : undefined, 30_000, 'the file complete at bob').catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify((await net.history(bob, alice)).find(m => m.kind === 'attachment'))}`)
    })
    for (let i = 0; i < 4; i++) await send(bob, alice, 'relayed from bob')
    await eventually(async () => (await net.history(bob, alice)).filter(m => m.sendState === 'relayed').length === 4 ? true : undefined, 30_000, 'four held by the relay').catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify((await net.history(bob, alice)).map(m => [m.text, m.sendState, m.relays]))}`)
    })
    aliceDaemon = await net.startDaemon(alice, [relay.addr])
    await eventually(async () => {
      const [a, b] = await Promise.all([net.history(alice, bob), net.history(bob, alice)])
      const all = [...a, ...b].filter(m => m.sendState != null)
      return a.length === 16 && b.length === 16 && all.length === 16 && all.every(m => m.sendState === 'delivered') ? true : undefined
    }, 60_000, 'all 16 messages delivered both ways')
    const final = await net.history(alice, bob)
    assert.deepEqual(final.map(m => m.text).sort(), [...texts].sort())
    // Account keys of both senders, as the history shows them (hex).
    const accounts: Needle[] = [...new Set(final.map(m => m.author.account))].map(hex => ({ what: `account key ${hex.slice(0, 8)}`, bytes: Buffer.from(hex, 'hex') }))
    assert.equal(accounts.length, 2)
    const ownAccount = new Map([[alice.peerId, final.find(m => m.sendState != null)?.author.account.slice(0, 8)], [bob.peerId, final.find(m => m.sendState == null)?.author.account.slice(0, 8)]])
    const accountOf = (peerId: string): string => ownAccount.get(peerId) ?? '?'

    await Promise.all([procs.stop(aliceDaemon), procs.stop(bobDaemon), procs.stop(relay.relay)])
    // A relay keeps each owner's signed delete as the proof behind its
    // tombstones (relay-sync), like the delete it gossips: it names its
    // owner, checked below like delete gossip. The decoded entries are
    // searched for every needle; the raw files (where LevelDB may have
    // compressed a proof across its owner's key) for every needle but the
    // peer ids, which only a proof may hold.
    const entries = await storeEntries(join(relay.dataDir, 'store'))
    const proofs = entries.filter((e, i) => e.path.endsWith('relay value') && entries[i - 1]?.bytes[0] === PROOF_KEY_PREFIX)
    const relayFiles = await filesUnder(join(relay.dataDir, 'store'))
    const relayStore = [...relayFiles, ...entries.filter(e => !proofs.includes(e))]
    const relayAll = await filesUnder(relay.dataDir)
    assert.ok(relayStore.some(f => /\.(log|ldb)$/.test(f.path)), 'the relay\'s LevelDB files are read')

    const needles: Needle[] = [
      text('the file name', 'secret-plans.bin'),
      ...[0, 1_000, 70_000, 149_968].map(at => ({ what: `file bytes at ${at}`, bytes: attachment.subarray(at, at + 32) })),
      ...texts.map((t, i) => text(`text of message ${ids[i]}`, t)),
      ...tokens.map((t, i) => text(`text token of message ${ids[i]}`, t)),
      ...[alice, bob].flatMap(u => {
        const peer = peerIdFromString(u.peerId)
        return [
          text(`${u.name}'s handle`, u.handle),
          text(`${u.name}'s peer id`, u.peerId),
          { what: `${u.name}'s peer id (multihash bytes)`, bytes: peer.toMultihash().bytes },
          { what: `${u.name}'s peer id (public key bytes)`, bytes: peer.publicKey?.raw ?? new Uint8Array(32) }
        ]
      })
    ]
    needles.push(...accounts, ...accounts.map(a => ({ what: `${a.what} (hex)`, bytes: Buffer.from(Buffer.from(a.bytes).toString('hex')) })))
    // Envelope gossip carries a mailbox id and the sealed envelope; a delete
    // also carries its owner's signature and peer id (other relays check it;
    // the peer id is public, and anyone can derive the mailbox id from it),
    // so a delete may name its owner but nobody else.
    const envelopeGossip: typeof gossip = []
    const deleteGossip = new Map<string, typeof gossip>([[alice.peerId, []], [bob.peerId, []]])
    for (const p of proofs) {
      const proof = GossipDelete.decode(p.bytes)
      const owner = [alice, bob].find(u => Buffer.from(mailboxId(peerIdFromString(u.peerId))).equals(proof.mailbox))
      assert.ok(owner != null, `${p.path}: a delete proof for a mailbox of ours`)
      assert.ok(Buffer.from(proof.auth?.owner ?? []).equals(peerIdFromString(owner.peerId).toMultihash().bytes), `${p.path}: signed by the mailbox owner`)
      deleteGossip.get(owner.peerId)?.push({ path: `${p.path} (delete proof)`, bytes: p.bytes })
    }
    for (const g of gossip) {
      const decoded = MailboxGossip.decode(g.bytes)
      if (decoded.envelope != null) {
        envelopeGossip.push(g)
        continue
      }
      const owner = [alice, bob].find(u => Buffer.from(mailboxId(peerIdFromString(u.peerId))).equals(decoded.delete?.mailbox ?? new Uint8Array(0)))
      assert.ok(owner != null, `${g.path}: a delete for a mailbox of ours`)
      assert.ok(Buffer.from(decoded.delete?.auth?.owner ?? []).equals(peerIdFromString(owner.peerId).toMultihash().bytes), `${g.path}: signed by the mailbox owner`)
      deleteGossip.get(owner.peerId)?.push(g)
    }
    assert.ok(envelopeGossip.length >= 9, `${envelopeGossip.length} envelopes gossiped (9 relayed messages at least)`)
    const notPeerIds = needles.filter(n => !n.what.includes('peer id'))
    assert.deepEqual([
      ...search(needles, [...entries.filter(e => !proofs.includes(e)), ...envelopeGossip]),
      ...search(notPeerIds, relayFiles)
    ], [], 'nothing about content or senders in the relay\'s envelope store or its envelope gossip')
    for (const [owner, deletes] of deleteGossip) {
      const others = needles.filter(n => !n.what.startsWith(owner === alice.peerId ? 'alice' : 'bob') && !n.what.startsWith(`account key ${accountOf(owner)}`))
      assert.deepEqual(search(others, deletes), [], `deletes of ${owner} name nobody else and no content`)
    }
    assert.deepEqual(search(needles.filter(n => n.what.startsWith('text')), relayAll), [], 'no message text anywhere in the relay\'s data directory')

    // Controls: the same search finds what must be there.
    const mailboxes = [alice, bob].map(u => ({ what: `${u.name}'s mailbox id`, bytes: mailboxId(peerIdFromString(u.peerId)) }))
    for (const m of mailboxes) {
      assert.ok(search([m], relayStore).length > 0, `${m.what} found in the relay's store`)
      assert.ok(search([m], gossip).length > 0, `${m.what} found in the gossip`)
    }
    const publicRecords = await filesUnder(join(relay.dataDir, 'datastore'))
    assert.ok(search([text('alice\'s handle', alice.handle)], publicRecords).length > 0, 'handle claims are in the relay\'s public DHT records')
    const aliceFiles = await storeEntries(join(alice.dir, 'store'))
    const bobFiles = await storeEntries(join(bob.dir, 'store'))
    for (const [i, t] of tokens.entries()) {
      assert.ok(search([text('text', t)], [...aliceFiles, ...bobFiles]).length > 0, `message ${ids[i]} found in its sender's or recipient's own store`)
    }
    const bobAttachments = await filesUnder(join(bob.dir, 'attachments'))
    for (const n of needles.filter(n => n.what.startsWith('file bytes'))) {
      assert.ok(search([n], bobAttachments).length > 0, `${n.what} found in the recipient's attachment store`)
    }
    console.log(`      searched ${relayStore.length} relay store files (${relayStore.reduce((n, f) => n + f.bytes.length, 0)} bytes), ${relayAll.length} relay files and ${gossip.length} gossip payloads for ${needles.length} needles`)
  })
})

