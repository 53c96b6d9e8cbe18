/** The store protocol over a relayed (limited) circuit relay v2 connection. */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Libp2p } from '@libp2p/interface'
import { toHex } from '../../../../src/crypto/bytes.js'
import { STORE_PROTOCOL, StoreClient, mailboxId } from '../../../../src/protocols/store/index.js'
import { fakeEnvelope, startCircuitRelay, startRelay, startUser, tempDir, waitFor } from '../../relay/helpers.js'
import type { TestRelay, UserNode } from '../../relay/helpers.js'

describe('protocols/store over a limited connection', function () {
  this.timeout(30_000)
  let circuit: Libp2p
  let relay: TestRelay
  let user: UserNode
  let remove: () => Promise<void>

  before(async () => {
    const tmp = await tempDir()
    remove = tmp.remove
    circuit = await startCircuitRelay()
    const circuitAddr = circuit.getMultiaddrs()[0]
    relay = await startRelay({ location: join(tmp.dir, 'db'), listen: [circuitAddr.encapsulate('/p2p-circuit').toString()] })
    await waitFor('a reservation', () => relay.node.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit')))
    user = await startUser()
  })

  after(async () => {
    await user.stop()
    await relay.stop()
    await circuit.stop()
    await remove()
  })

  it('puts and fetches through a circuit relay', async () => {
    const device = await generateKeyPair('Ed25519')
    const mailbox = mailboxId(peerIdFromPrivateKey(device))
    const addrs = relay.node.getMultiaddrs().filter(a => a.toString().includes('/p2p-circuit'))
    const client = new StoreClient(user)
    const envelope = fakeEnvelope(5000)
    const receipt = await client.put(addrs, mailbox, envelope)
    assert.ok(receipt.relay.equals(relay.node.peerId))
    const page = await client.fetch(addrs, device)
    assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)), [toHex(envelope)])
    const connections = user.getConnections(relay.node.peerId)
    assert.equal(connections.length, 1)
    assert.ok(connections[0].limits != null, 'the connection is relayed')
    assert.equal(connections[0].streams.filter(s => s.protocol === STORE_PROTOCOL).length, 1)
    await client.close()
  })
})
