/**
 * Issue 9, item 4, against a real daemon: a stranger writes envelopes whose
 * headers claim message number 24,999 to bob's daemon over
 * /starling/dm/1.0.0 (each on its own stream, as each refusal costs the
 * stream), first from 20 fresh identities, then from one identity that
 * already wrote once. The daemon's CPU time is read from /proc before and
 * after, less its CPU over an idle window just as long, and compared with
 * the cost of as many streams carrying random bytes.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { Network, Processes, directAddr, startTestNode } from './harness.js'
import type { RelayProcess, Running, User } from './harness.js'
import { DM_PROTOCOL } from '../../src/protocols/dm/index.js'
import { FrameDecoder, decodeAck, encodeDeliver } from '../../src/protocols/dm/dm.js'
import { MAX_ACK_FRAME_LENGTH } from '../../src/protocols/dm/constants.js'
import { publicPrekeys } from '../../src/crypto/prekeys.js'
import { PrekeyKind, prekeySignaturePayload } from '../../src/crypto/prekey-signature.js'
import { createNodeCrypto } from '../../node/crypto/node-provider.js'
import { loadIdentity } from '../../node/identity-store.js'
import type { StarlingLibp2p } from '../../src/net/node.js'
import { claimingEnvelope, makeSender } from '../unit/messenger/parties.js'
import type { Account, Sender } from '../unit/messenger/parties.js'

/** Pass line: 20 such envelopes cost under 100 ms of CPU in total. */
const MAX_ATTACK_CPU_MS = 100
const ENVELOPES = 20
const CLAIMED_N = 24_999
/** Clock ticks per second of /proc/PID/stat times (getconf CLK_TCK; 100 on Linux). */
const CLK_TCK = 100

/** User + system CPU time of a process so far, in ms. */
async function cpuMs (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces) start at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1000 / CLK_TCK
}

/** Writes one envelope on a new dm stream; resolves once it is acknowledged or the stream ends. */
async function deliver (node: StarlingLibp2p, addr: string, envelope: Uint8Array): Promise<'acknowledged' | 'refused'> {
  const stream: Stream = await node.dialProtocol(multiaddr(addr), DM_PROTOCOL, { signal: AbortSignal.timeout(30_000) })
  const decoder = new FrameDecoder(MAX_ACK_FRAME_LENGTH)
  const outcome = new Promise<'acknowledged' | 'refused'>(resolve => {
    stream.addEventListener('message', (evt) => {
      for (const frame of decoder.decode(evt.data)) if (decodeAck(frame).length > 0) resolve('acknowledged')
    })
    stream.addEventListener('close', () => { resolve('refused') })
  })
  stream.send(encodeDeliver(envelope))
  const result = await outcome
  if (stream.status === 'open') await stream.close()
  return result
}

describe('e2e: a stranger cannot burn a daemon\'s CPU with skipped message keys', function () {
  this.timeout(240_000)
  const procs = new Processes()
  const net = new Network(procs)
  const crypto = createNodeCrypto()
  let relay: RelayProcess
  let bob: User
  let daemon: Running
  let bobAccount: Account
  let addr: string
  let stranger: StarlingLibp2p | undefined

  before(async () => {
    relay = await net.startRelay()
    bob = await net.newUser('bob')
    daemon = await net.startDaemon(bob, [relay.addr])
    // What anyone reads from bob's device record, taken here from his key file.
    const keys = await loadIdentity(crypto, bob.dir)
    const pub = publicPrekeys(keys.prekeys)
    const identityKeySignature = await crypto.ed25519.sign(keys.accountSecretKey, prekeySignaturePayload(PrekeyKind.identity, 0, keys.identityPublicKey))
    bobAccount = {
      accountSecretKey: keys.accountSecretKey,
      identity: { accountKey: keys.accountPublicKey, identityKey: { secretKey: keys.identitySecretKey, publicKey: keys.identityPublicKey }, identityKeySignature },
      prekeys: keys.prekeys,
      peerId: keys.peerId,
      bundle: { accountKey: keys.accountPublicKey, identityKey: keys.identityPublicKey, identityKeySignature, signedPrekey: pub.signedPrekey, kemPrekey: pub.kemPrekey },
      // Bob's record is never sent by the attackers here: only his public keys are used.
      record: new Uint8Array(0)
    }
    stranger = await startTestNode()
    addr = directAddr((await net.call<{ multiaddrs: string[] }>(bob, 'whoami')).multiaddrs)
  })
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.describe())
    assert.deepEqual(net.crashed(), [], 'no relay or daemon crashed')
  })
  after(async () => {
    await stranger?.stop()
    await procs.stopAll()
  })

  /** The daemon's CPU for `attack`, less its CPU over an idle window as long (its timers keep running). */
  async function measure (attack: () => Promise<string[]>): Promise<{ outcomes: string[], attackMs: number, idleMs: number }> {
    const pid = daemon.proc.pid ?? 0
    const t0 = performance.now()
    const c0 = await cpuMs(pid)
    const outcomes = await attack()
    const elapsed = performance.now() - t0
    const attackMs = await cpuMs(pid) - c0
    const c1 = await cpuMs(pid)
    await new Promise(resolve => setTimeout(resolve, elapsed))
    const idleMs = await cpuMs(pid) - c1
    return { outcomes, attackMs, idleMs }
  }

  async function sendAll (envelopes: Uint8Array[]): Promise<string[]> {
    const node = stranger
    if (node == null) throw new Error('no stranger node')
    const out: string[] = []
    for (const e of envelopes) out.push(await deliver(node, addr, e))
    return out
  }

  it(`${ENVELOPES} first messages from fresh strangers, then ${ENVELOPES} from a stranger who wrote once, each claiming message ${CLAIMED_N}: under ${MAX_ATTACK_CPU_MS} ms of the daemon's CPU beyond as many junk envelopes, each time`, async () => {
    const now = Date.now()
    // Not counted: the stranger's connection (Noise, identify) and the first
    // run of each code path in the daemon, with envelopes of the same kinds.
    const warm = await makeSender(crypto, bobAccount, now)
    assert.deepEqual(await sendAll([await claimingEnvelope(crypto, warm, CLAIMED_N)]), ['refused'])
    assert.deepEqual(await sendAll([await warm.message({ kind: 'text', text: 'hello' })]), ['acknowledged'])
    assert.deepEqual(await sendAll([await claimingEnvelope(crypto, warm, CLAIMED_N)]), ['refused'])
    // The control: as many envelope-sized frames of random bytes, refused
    // when they do not open. What any peer can cost us per stream (yamux,
    // multistream-select, one X25519) is in it, so the difference is what
    // the claims cost beyond junk.
    const junk = await measure(async () => sendAll(Array.from({ length: ENVELOPES }, () => {
      const bytes = crypto.randomBytes(1_600)
      bytes[0] = 0x01
      return bytes
    })))
    process.stdout.write(`      control, ${ENVELOPES} random envelopes: daemon CPU ${junk.attackMs} ms (${junk.idleMs} ms idle over as long)\n`)
    assert.deepEqual(junk.outcomes, junk.outcomes.map(() => 'refused'))
    const control = Math.max(junk.attackMs - junk.idleMs, 0)
    const fresh: Sender[] = []
    for (let i = 0; i < ENVELOPES; i++) fresh.push(await makeSender(crypto, bobAccount, now))
    const first = await measure(async () => sendAll(await Promise.all(fresh.map(async s => claimingEnvelope(crypto, s, CLAIMED_N)))))
    process.stdout.write(`      fresh strangers: daemon CPU ${first.attackMs} ms (${first.idleMs} ms idle over as long)\n`)
    assert.deepEqual(first.outcomes, fresh.map(() => 'refused'))
    assert.ok(first.attackMs - first.idleMs - control < MAX_ATTACK_CPU_MS, `the attack cost the daemon ${first.attackMs} ms of CPU (${first.idleMs} ms when idle, ${control} ms for junk)`)

    const mallory = await makeSender(crypto, bobAccount, now)
    assert.deepEqual(await sendAll([await mallory.message({ kind: 'text', text: 'hello bob' })]), ['acknowledged'])
    const claims: Uint8Array[] = []
    for (let i = 0; i < ENVELOPES; i++) claims.push(await claimingEnvelope(crypto, mallory, CLAIMED_N))
    const second = await measure(async () => sendAll(claims))
    process.stdout.write(`      one stranger: daemon CPU ${second.attackMs} ms (${second.idleMs} ms idle over as long)\n`)
    assert.deepEqual(second.outcomes, claims.map(() => 'refused'))
    assert.ok(second.attackMs - second.idleMs - control < MAX_ATTACK_CPU_MS, `the attack cost the daemon ${second.attackMs} ms of CPU (${second.idleMs} ms when idle, ${control} ms for junk)`)

    // The daemon keeps serving: mallory's next real message is stored; the
    // two who wrote a real message are requests, the twenty others nothing.
    assert.deepEqual(await sendAll([await mallory.message({ kind: 'text', text: 'still me' }, 2)]), ['acknowledged'])
    const contacts = await net.call<Array<{ state: string }>>(bob, 'contacts')
    assert.deepEqual(contacts.map(c => c.state), ['request', 'request'])
  })
})
