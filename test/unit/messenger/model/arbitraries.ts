/** fast-check arbitraries and fixed authors for message model tests. */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import type { AttachmentDescriptor, Author, Message, MessageBody, MessageId } from '../../../../src/messenger/model/index.js'

/** A real author: random account key bytes and an Ed25519 libp2p peer id. */
export async function makeAuthor (seed: number): Promise<Author> {
  const key = await generateKeyPair('Ed25519')
  return { account: new Uint8Array(32).fill(seed), device: peerIdFromPrivateKey(key).toMultihash().bytes }
}

const NN = { noNullPrototype: true }

export const idArb: fc.Arbitrary<MessageId> = fc.uint8Array({ minLength: 16, maxLength: 16 })
export const textArb = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter(s => s.trim() !== '')
export const emojiArb = fc.constantFrom('👍', '❤️', '👍🏽', '🇯🇵', '1️⃣', '👨‍👩‍👧‍👦', '🫠', '🏴󠁧󠁢󠁳󠁣󠁴󠁿')

export const attachmentArb: fc.Arbitrary<AttachmentDescriptor> = fc.record({
  id: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fileName: fc.constantFrom('photo.jpg', 'notes — été.txt', 'voice 🎤.ogg'),
  mimeType: fc.constantFrom('image/jpeg', 'image/gif', 'audio/ogg', 'application/octet-stream'),
  kind: fc.constantFrom('image' as const, 'gif' as const, 'audio' as const, 'file' as const),
  size: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  sha256: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  chunkSize: fc.integer({ min: 1, max: 1024 * 1024 }),
  caption: textArb
}, { requiredKeys: ['id', 'fileName', 'mimeType', 'kind', 'size', 'sha256', 'key', 'chunkSize'], noNullPrototype: true })

function withoutCaption (a: AttachmentDescriptor): AttachmentDescriptor {
  const rest = { ...a }
  delete rest.caption
  return rest
}

export const bodyArb: fc.Arbitrary<MessageBody> = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), text: textArb }, NN),
  fc.record({ kind: fc.constant('reply' as const), target: idArb, text: textArb }, NN),
  fc.record({ kind: fc.constant('reaction' as const), target: idArb, emoji: emojiArb, action: fc.constantFrom('add' as const, 'remove' as const) }, NN),
  fc.record({ kind: fc.constant('edit' as const), target: idArb, text: textArb }, NN),
  fc.record({ kind: fc.constant('delete' as const), target: idArb }, NN),
  fc.record({ kind: fc.constant('delivered' as const), ids: fc.array(idArb, { minLength: 1, maxLength: 5 }) }, NN),
  fc.record({ kind: fc.constant('read' as const), ids: fc.array(idArb, { minLength: 1, maxLength: 5 }) }, NN),
  fc.record({ kind: fc.constant('typing' as const), on: fc.boolean() }, NN),
  fc.record({
    kind: fc.constant('attachment' as const),
    // An album: distinct ids, the caption on the first only.
    attachments: fc.uniqueArray(attachmentArb, { minLength: 1, maxLength: 3, selector: a => Array.from(a.id).join() })
      .map(list => list.map((a, i) => i === 0 ? a : withoutCaption(a)))
  }, NN),
  fc.oneof(
    fc.record({ kind: fc.constant('call' as const), outcome: fc.constantFrom('missed' as const, 'declined' as const, 'busy' as const), durationMs: fc.constant(0), video: fc.boolean() }, NN),
    fc.record({ kind: fc.constant('call' as const), outcome: fc.constant('ended' as const), durationMs: fc.nat(), video: fc.boolean() }, NN)
  )
)

export function messageArb (authors: Author[]): fc.Arbitrary<Message> {
  return fc.record({
    id: idArb,
    author: fc.constantFrom(...authors),
    timestamp: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    lamport: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    body: bodyArb
  }, NN)
}
