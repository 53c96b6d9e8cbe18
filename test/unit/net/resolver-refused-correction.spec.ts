/**
 * A DHT server that keeps an older version of someone's records and refuses
 * the correction kad-dht sends it. kad-dht's `get` (16.4, content-fetching)
 * collects the answers, picks the best, sends it to every server that
 * answered with another version, and throws "Could not send correction"
 * when one of them does not take it, before it yields the best value. The
 * resolver took that for "no server holds it": the owner's name~tag was an
 * unknown handle, and a bare name resolved to its other claimants only.
 * Here the servers are a stub of that `get`, the records real and signed.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { QueryEvent } from '@libp2p/kad-dht'
import { createCrypto } from '../../../src/crypto/index.js'
import { createPrekeyState, publicPrekeys } from '../../../src/crypto/prekeys.js'
import { buildDeviceRecord, buildHandleClaim, formatHandle, handleTag } from '../../../src/identity/index.js'
import { Resolver } from '../../../src/net/resolver.js'
import type { StarlingLibp2p } from '../../../src/net/node.js'

const crypto = createCrypto()
const T0 = Date.UTC(2026, 11, 7)

describe('net: a server refusing corrections cannot hide a record', function () {
  this.timeout(30_000)

  it('the owner\'s name~tag resolves to its newest claim though one server keeps an older one and refuses the correction', async () => {
    const account = await crypto.ed25519.generateKeyPair()
    const deviceKey = await generateKeyPair('Ed25519')
    const device = peerIdFromPrivateKey(deviceKey)
    const prekeys = publicPrekeys(await createPrekeyState(crypto, account.secretKey, T0))
    const identity = await crypto.x25519.generateKeyPair()
    const record = await buildDeviceRecord(crypto, { accountSecretKey: account.secretKey, devicePrivateKey: deviceKey, addrs: [], identityKey: identity.publicKey, ...prekeys, seq: T0, expiresAt: T0 + 3_600_000 })
    const older = await buildHandleClaim(crypto, { accountSecretKey: account.secretKey, name: 'erin', devices: [device], seq: T0 - 60_000, expiresAt: T0 + 3_600_000 })
    const newer = await buildHandleClaim(crypto, { accountSecretKey: account.secretKey, name: 'erin', devices: [device], seq: T0, expiresAt: T0 + 3_600_000 })
    const honest = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const keeper = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const path = { index: 0, queued: 0, running: 0, total: 1 }
    const answer = (from: typeof honest, value: Uint8Array): QueryEvent => ({ name: 'PEER_RESPONSE', type: 1, from, messageType: 1, messageName: 'GET_VALUE', closer: [], providers: [], record: { value }, path }) as unknown as QueryEvent
    const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i])
    let gets = 0
    const dht = {
      routingTable: { size: 2 },
      get: async function * (key: Uint8Array): AsyncGenerator<QueryEvent> {
        gets++
        if (same(key, newer.key)) {
          yield answer(keeper, older.value)
          yield answer(honest, newer.value)
          throw Object.assign(new Error('Could not send correction'), { name: 'QueryError' })
        }
        if (same(key, record.key)) {
          yield answer(honest, record.value)
          yield { name: 'VALUE', type: 5, from: honest, value: record.value, path } as unknown as QueryEvent
          return
        }
        yield { name: 'PEER_RESPONSE', type: 1, from: honest, messageType: 1, messageName: 'GET_VALUE', closer: [], providers: [], path } as unknown as QueryEvent
      }
    }
    const resolver = new Resolver({ node: { services: { dht } } as unknown as StarlingLibp2p, crypto }, { now: () => T0 })
    const handle = formatHandle('erin', handleTag(crypto, 'erin', account.publicKey))
    const claim = await resolver.resolveOne(handle)
    assert.equal(claim.handle, handle)
    assert.equal(claim.claim.seq, T0, 'the newest claim, not the one the refusing server kept')
    assert.deepEqual(claim.devices.map(d => d.record?.identityKey), [identity.publicKey])
    assert.equal(gets, 2, 'one read each of the claim and the device record')
  })
})
