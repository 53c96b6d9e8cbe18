/**
 * Forged, expired, mismatched and older-sequence records put straight into
 * the DHT (by an in-process attacker node that skips validation on its own
 * side) are rejected by the relay and do not change what resolves. The relay
 * and the daemons are separate processes.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { createStarlingNode } from '../../src/net/node.js'
import type { StarlingLibp2p } from '../../src/net/node.js'
import { createCrypto } from '../../src/crypto/index.js'
import { createPrekeyState, publicPrekeys } from '../../src/crypto/prekeys.js'
import {
  buildDeviceRecord,
  buildHandleClaim,
  decodeHandleClaim,
  decodeKeyFile,
  encodeHandleClaim,
  handleRecordKey
} from '../../src/identity/index.js'
import { Processes, eventually } from './harness.js'

interface Resolved {
  unique: boolean
  claims: Array<{ handle: string, fingerprint: string, devices: Array<{ peerId: string }> }>
}

describe('e2e: bad records in the DHT', function () {
  this.timeout(180_000)
  const procs = new Processes()
  const crypto = createCrypto()
  let attacker: StarlingLibp2p
  let relayAddr: string
  let alice: { dir: string, handle: string }
  let bob: { dir: string, handle: string, peerId: string, fingerprint: string, name: string, tag: string }

  before(async () => {
    const relayDir = await procs.tempDir('starling-relay-')
    const relay = await procs.start(['relay', '--listen', '/ip4/127.0.0.1/tcp/0', '--data', relayDir])
    relayAddr = (relay.ready.multiaddrs as string[])[0]
    const users = await Promise.all(['alice', 'bob'].map(async name => {
      const dir = await procs.tempDir(`starling-${name}-`)
      const r = await procs.cli(['init', '--handle', name, '--data', dir, '--json'])
      assert.equal(r.code, 0, r.stderr)
      await procs.start(['daemon', '--data', dir, '--bootstrap', relayAddr, '--listen', '/ip4/127.0.0.1/tcp/0'])
      const created = r.json[0] as Record<string, string>
      const [n, tag] = created.handle.split('~')
      return { dir, handle: created.handle, peerId: created.peerId, fingerprint: created.fingerprint, name: n, tag }
    }))
    alice = users[0]
    bob = users[1]
    for (const u of users) {
      await eventually(async () => {
        const r = await procs.cli(['status', '--data', u.dir, '--json'])
        return r.json[0]?.published != null ? true : undefined
      }, 30_000, `${u.handle} published`)
    }
    // The attacker's own node accepts anything, so that its puts reach the relay.
    attacker = await createStarlingNode({
      privateKey: await generateKeyPair('Ed25519'),
      role: 'user',
      transports: [tcp()],
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: [relayAddr],
      validators: { starling: async () => {} },
      selectors: { starling: () => 0 },
      loopback: true
    })
    await eventually(async () => attacker.getConnections().length > 0 ? true : undefined, 10_000, 'attacker connected')
  })

  after(async () => {
    await attacker?.stop()
    await procs.stopAll()
  })

  /** Puts a record through the attacker; returns how many peers accepted it. */
  async function rawPut (key: Uint8Array, value: Uint8Array): Promise<number> {
    let accepted = 0
    for await (const event of attacker.services.dht.put(key, value, { signal: AbortSignal.timeout(10_000) })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') accepted++
    }
    return accepted
  }

  async function assertBobUnchanged (): Promise<void> {
    for (const query of ['bob', bob.handle]) {
      const r = await procs.cli(['resolve', query, '--data', alice.dir, '--json'])
      assert.equal(r.code, 0, r.stderr)
      const res = r.json[0] as unknown as Resolved
      assert.equal(res.unique, true, `${query} must stay unique`)
      assert.equal(res.claims[0].fingerprint, bob.fingerprint)
      assert.deepEqual(res.claims[0].devices.map(d => d.peerId), [bob.peerId])
    }
  }

  async function bobKeys (): Promise<{ accountSecretKey: Uint8Array }> {
    return decodeKeyFile(crypto, await readFile(join(bob.dir, 'identity.key')))
  }

  const future = (): number => Date.now() + 3_600_000

  it('control: a valid claim put the same way is accepted and resolves', async () => {
    const mallory = await crypto.ed25519.generateKeyPair()
    const claim = await buildHandleClaim(crypto, { accountSecretKey: mallory.secretKey, name: 'mallory', devices: [attacker.peerId], seq: 1, expiresAt: future() })
    assert.ok(await rawPut(claim.key, claim.value) >= 1)
    const tag = new TextDecoder().decode(claim.key).split('~')[1]
    const r = await procs.cli(['resolve', `mallory~${tag}`, '--data', alice.dir, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal((r.json[0] as unknown as Resolved).claims[0].handle, `mallory~${tag}`)
  })

  it('a claim for bob~tag signed by another key (forged signature) is rejected', async () => {
    const mallory = await crypto.ed25519.generateKeyPair()
    const signed = await buildHandleClaim(crypto, { accountSecretKey: mallory.secretKey, name: bob.name, devices: [attacker.peerId], seq: Number.MAX_SAFE_INTEGER - 10, expiresAt: future() })
    const bobAccountKey = await crypto.ed25519.publicKey((await bobKeys()).accountSecretKey)
    const forged = encodeHandleClaim({ ...decodeHandleClaim(signed.value), accountKey: Uint8Array.from(bobAccountKey) })
    assert.equal(await rawPut(handleRecordKey(bob.name, bob.tag), forged), 0)
    await assertBobUnchanged()
  })

  it('an expired claim, even one signed by bob\'s own key, is rejected', async () => {
    const { accountSecretKey } = await bobKeys()
    const expired = await buildHandleClaim(crypto, { accountSecretKey, name: bob.name, devices: [attacker.peerId], seq: Number.MAX_SAFE_INTEGER - 5, expiresAt: Date.now() - 1_000 })
    assert.equal(await rawPut(expired.key, expired.value), 0)
    await assertBobUnchanged()
  })

  it('a claim whose key does not match its tag (mallory claiming bob~<bob\'s tag>) is rejected', async () => {
    const mallory = await crypto.ed25519.generateKeyPair()
    const claim = await buildHandleClaim(crypto, { accountSecretKey: mallory.secretKey, name: bob.name, devices: [attacker.peerId], seq: Number.MAX_SAFE_INTEGER - 3, expiresAt: future() })
    assert.equal(await rawPut(handleRecordKey(bob.name, bob.tag), claim.value), 0)
    await assertBobUnchanged()
  })

  it('an older-sequence claim, validly signed by bob\'s key, is stored nowhere as the answer', async () => {
    const { accountSecretKey } = await bobKeys()
    const older = await buildHandleClaim(crypto, { accountSecretKey, name: bob.name, devices: [attacker.peerId], seq: 1, expiresAt: future() })
    // The relay has verified bob's newer claim and refuses the rollback.
    assert.equal(await rawPut(older.key, older.value), 0)
    await assertBobUnchanged()
  })

  it('a device record for bob\'s peer id signed by another peer key is rejected', async () => {
    const mallory = await crypto.ed25519.generateKeyPair()
    const prekeys = publicPrekeys(await createPrekeyState(crypto, mallory.secretKey, Date.now()))
    const identity = await crypto.x25519.generateKeyPair()
    const record = await buildDeviceRecord(crypto, {
      accountSecretKey: mallory.secretKey,
      devicePrivateKey: await generateKeyPair('Ed25519'),
      addrs: [],
      identityKey: identity.publicKey,
      ...prekeys,
      seq: Number.MAX_SAFE_INTEGER - 1,
      expiresAt: future()
    })
    // Put the other device's record under bob's device key.
    const bobDeviceKey = new TextEncoder().encode(`/starling/device/${bob.peerId}`)
    assert.equal(await rawPut(bobDeviceKey, record.value), 0)
    await assertBobUnchanged()
  })

  it('an oversized record is rejected', async () => {
    const big = new Uint8Array(64 * 1024).fill(7)
    assert.equal(await rawPut(handleRecordKey(bob.name, bob.tag), big), 0)
    await assertBobUnchanged()
  })
})
