/** What the receipt specs share: a relay key with a batch of receipt items, and an Ed25519 that counts its verifications. */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { createNodeCrypto } from '../../../../node/crypto/node-provider.js'
import { mailboxId } from '../../../../src/protocols/store/index.js'
import type { ReceiptItem } from '../../../../src/protocols/store/index.js'

export const NOW = 1_800_000_000_000

/** node:crypto's Ed25519, counting verifications. */
export function countingEd25519 (): { ed25519: ReturnType<typeof createNodeCrypto>['ed25519'], verified: () => number } {
  const real = createNodeCrypto().ed25519
  let calls = 0
  return {
    ed25519: { ...real, verify: async (publicKey, message, signature) => { calls++; return await real.verify(publicKey, message, signature) } },
    verified: () => calls
  }
}

/** A relay key and `count` receipt items for one mailbox (distinct ids and hashes; stored NOW, or NOW + i with `spread`). */
export async function receiptBatch (count: number, options: { spread?: boolean } = {}): Promise<{ relayKey: PrivateKey, relay: PeerId, items: ReceiptItem[] }> {
  const relayKey = await generateKeyPair('Ed25519')
  const mailbox = mailboxId(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
  const items = Array.from({ length: count }, (_, i) => ({
    subject: { mailbox, envelopeId: new Uint8Array(16).fill(i + 1), hash: new Uint8Array(32).fill(i + 10) },
    storedAt: options.spread === true ? NOW + i : NOW,
    expiresAt: NOW + 1000
  }))
  return { relayKey, relay: peerIdFromPrivateKey(relayKey), items }
}
