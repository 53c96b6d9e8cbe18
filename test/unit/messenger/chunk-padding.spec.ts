/**
 * Issue 9, item 8: attachment chunk envelopes do not reveal exact sizes.
 * Every chunk of files of different sizes, sealed as the sender's device
 * seals it, gives an envelope of the same length.
 */
import assert from 'node:assert/strict'
import { createNodeCrypto } from '../../../node/crypto/node-provider.js'
import { confirmSession } from '../../../src/crypto/session.js'
import { encodeChunkPayload, encryptAttachment } from '../../../src/messenger/attachments/index.js'
import { PADDED_CHUNK_PAYLOAD_BYTES, decodePayload, encodeChunkPayloadEnvelope } from '../../../src/messenger/payload.js'
import { makeAccount, makeSender } from './parties.js'

const T0 = Date.UTC(2026, 11, 6)
const SIZES = [1, 1_000, 65_535, 65_536, 65_537, 200_000, 1_000_000]

describe('messenger: attachment chunk envelopes all have one length', () => {
  const crypto = createNodeCrypto()

  it(`every chunk envelope of files of ${SIZES.join(', ')} bytes has the same length, before and after the session is confirmed`, async () => {
    const bob = await makeAccount(crypto, T0)
    const alice = await makeSender(crypto, bob, T0)
    const lengths = new Set<number>()
    const seen: string[] = []
    for (const confirmed of [false, true]) {
      if (confirmed) alice.session = confirmSession(alice.session, alice.session.baseKey) ?? alice.session
      for (const size of SIZES) {
        const a = await encryptAttachment(crypto, new Uint8Array(size), { fileName: 'f', mimeType: 'application/octet-stream', kind: 'file' })
        for (const [index, ciphertext] of a.chunks.entries()) {
          const envelope = await alice.payload(encodeChunkPayloadEnvelope(encodeChunkPayload({ attachmentId: a.descriptor.id, index, ciphertext })))
          lengths.add(envelope.length)
          seen.push(`${size}#${index}${confirmed ? '' : ' (first messages)'}: ${envelope.length}`)
        }
      }
    }
    process.stdout.write(`      envelope lengths: ${[...lengths].join(', ')} bytes over ${seen.length} chunks\n`)
    assert.equal(lengths.size, 1, seen.join('\n'))
  })

  it('gives back exactly the chunk payload; reads the unpadded form older senders used; refuses a length past the end', () => {
    const chunk = new Uint8Array(1000).map((_, i) => i)
    const padded = encodeChunkPayloadEnvelope(chunk)
    assert.equal(padded.length, 5 + PADDED_CHUNK_PAYLOAD_BYTES)
    assert.deepEqual(decodePayload(padded), { type: 'chunk', chunk })
    assert.deepEqual(decodePayload(Uint8Array.of(0x02, ...chunk)), { type: 'chunk', chunk })
    const lying = padded.slice()
    new DataView(lying.buffer).setUint32(1, padded.length)
    assert.throws(() => decodePayload(lying), { name: 'InvalidMessageError' })
    assert.throws(() => decodePayload(Uint8Array.of(0x03, 0, 0)), { name: 'InvalidMessageError' })
  })
})
