/**
 * The publisher republishes on `self:peer:update` only when the addresses
 * its device record names changed: libp2p fires the event for new
 * protocols and metadata too, and each publication is two DHT reads, two
 * puts and a provide, every one reaching up to k servers (a user starting
 * beside hundreds of others published up to three times). A reservation that
 * adds an address, or an address change during a publication, still
 * publishes again. Over a fake node whose DHT answers every request.
 */
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { Publisher, publishRetryDelay } from '../../../src/net/publisher.js'
import type { StarlingLibp2p } from '../../../src/net/node.js'
import { crypto, newAccount, newDevice } from '../identity/helpers.js'

interface FakeNode {
  node: StarlingLibp2p
  addrs: Multiaddr[]
  puts: number
  /** Resolves the next put (the publication waits there until then, when held). */
  hold: boolean
  release: () => void
}

async function fakeNode (): Promise<FakeNode> {
  const device = await newDevice()
  const events = new EventTarget()
  let waiting: Array<() => void> = []
  const fake: FakeNode = {
    node: undefined as unknown as StarlingLibp2p,
    addrs: [multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${device.peerId.toString()}`)],
    puts: 0,
    hold: false,
    release: () => { const w = waiting; waiting = []; for (const r of w) r() }
  }
  const dht = {
    routingTable: { size: 1 },
    async * get () { yield { name: 'PEER_RESPONSE', messageName: 'GET_VALUE' } },
    async * put () {
      fake.puts++
      if (fake.hold) await new Promise<void>(resolve => { waiting.push(resolve) })
      yield { name: 'PEER_RESPONSE', messageName: 'PUT_VALUE' }
    },
    async * provide () { yield { name: 'PEER_RESPONSE', messageName: 'ADD_PROVIDER' } }
  }
  fake.node = Object.assign(events, {
    peerId: device.peerId,
    privateKey: device.privateKey,
    getMultiaddrs: () => fake.addrs,
    services: { dht }
  }) as unknown as StarlingLibp2p
  return fake
}

async function publisherOn (fake: FakeNode): Promise<Publisher> {
  const account = await newAccount()
  const identity = await crypto.x25519.generateKeyPair()
  const signed = await crypto.x25519.generateKeyPair()
  const kem = await crypto.kem.generateKeyPair()
  const device = (fake.node as unknown as { privateKey: StarlingLibp2p['peerId'] }).privateKey
  return new Publisher({
    node: fake.node,
    crypto,
    identity: {
      handleName: 'alice',
      accountSecretKey: account.secretKey,
      accountPublicKey: account.publicKey,
      devicePrivateKey: device as never,
      identityKey: identity.publicKey,
      prekeys: () => ({ signedPrekey: { id: 1, publicKey: signed.publicKey }, kemPrekey: { id: 2, publicKey: kem.publicKey } })
    }
  })
}

const update = (fake: FakeNode): void => { fake.node.dispatchEvent(new CustomEvent('self:peer:update')) }

describe('net/publisher: republishing on address changes only', () => {
  let publisher: Publisher | undefined
  afterEach(() => { publisher?.stop() })

  it('an update that leaves the addresses as they were publishes nothing; a new address publishes once', async () => {
    const fake = await fakeNode()
    publisher = await publisherOn(fake)
    publisher.start()
    await publisher.settled()
    assert.equal(fake.puts, 2, 'the first publication: device record and claim')
    update(fake) // a protocol registered, say
    await publisher.settled()
    assert.equal(fake.puts, 2)
    fake.addrs = [...fake.addrs, multiaddr('/ip4/127.0.0.1/tcp/4002/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq/p2p-circuit')]
    publisher.publishIfAddressesChanged() // the reservation's own call, before or after its event
    update(fake)
    await publisher.settled()
    assert.equal(fake.puts, 4, 'one more publication for the new address')
  })

  it('during a publication, updates with the addresses it took add none; a change while it runs adds one', async () => {
    const fake = await fakeNode()
    publisher = await publisherOn(fake)
    fake.hold = true
    publisher.start()
    while (fake.puts === 0) await new Promise(resolve => setTimeout(resolve, 5))
    update(fake)
    update(fake)
    fake.hold = false
    fake.release()
    await publisher.settled()
    assert.equal(fake.puts, 2, 'no second publication for unchanged addresses')
    fake.hold = true
    publisher.publishSoon() // a prekey rotation, say: always publishes
    while (fake.puts === 2) await new Promise(resolve => setTimeout(resolve, 5))
    fake.addrs = [multiaddr('/ip4/127.0.0.1/tcp/4003')]
    update(fake)
    fake.hold = false
    fake.release()
    await publisher.settled()
    assert.equal(fake.puts, 6, 'the rotation, then one for the address that changed during it')
  })
})

describe('net/publisher: retries after failed publications back off', () => {
  it('5 s doubling to 5 minutes; never beyond a quarter of the republish interval', () => {
    const day = 24 * 60 * 60_000
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 40, 10_000].map(n => publishRetryDelay(n, day)),
      [5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000, 300_000])
    assert.equal(publishRetryDelay(1, 20_000), 2_500)
    assert.equal(publishRetryDelay(0, day), 5_000)
  })

  it('a publication that keeps failing is retried less and less often (counted over the scheduled waits)', async () => {
    const fake = await fakeNode()
    const failing = fake.node.services.dht as unknown as { put: () => AsyncGenerator<unknown> }
    failing.put = async function * () { yield { name: 'QUERY_ERROR', error: new Error('timed out') } }
    const publisher = await publisherOn(fake)
    const waits: number[] = []
    const realSetTimeout = globalThis.setTimeout
    // Only the publisher's own retry timers are recorded (and not run): those of at least a second.
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      if ((ms ?? 0) >= 1_000) { waits.push(ms ?? 0); return realSetTimeout(() => {}, 0) }
      return realSetTimeout(fn, ms)
    }) as typeof setTimeout
    try {
      publisher.start()
      await publisher.settled()
      for (let i = 0; i < 3; i++) {
        publisher.publishSoon()
        await publisher.settled()
      }
    } finally {
      globalThis.setTimeout = realSetTimeout
      publisher.stop()
    }
    assert.deepEqual(waits, [5_000, 10_000, 20_000, 40_000])
  })
})
