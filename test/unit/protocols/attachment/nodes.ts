/** Real libp2p nodes on 127.0.0.1 (TCP, Noise, yamux) with the attachment service, for the protocol tests. */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Crypto } from '../../../../src/crypto/index.js'
import { blobStoreSource } from '../../../../src/messenger/attachments/index.js'
import type { BlobStore } from '../../../../src/messenger/attachments/index.js'
import { idToHex } from '../../../../src/messenger/model/index.js'
import type { AttachmentDescriptor } from '../../../../src/messenger/model/index.js'
import { attachmentProtocol } from '../../../../src/protocols/attachment/index.js'
import type { AttachmentProtocol, AttachmentProtocolInit, ChunkRange } from '../../../../src/protocols/attachment/index.js'

export type AttachmentNode = Libp2p<{ attachment: AttachmentProtocol }>

/** A node that serves nothing (a receiver). */
export async function plainNode (): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

/** What a sender node records, for assertions. */
export interface SenderLog {
  /** Chunk indices read from the source, per request, in order. */
  reads: number[]
  requests: Array<{ peer: string, ranges: ChunkRange[] }>
}

/** Everything a sender test needs: the node, its sent descriptors and whom they went to, its log. */
export interface Sender {
  node: AttachmentNode
  log: SenderLog
  /** Records that `d` was sent to `peer`. */
  share(d: AttachmentDescriptor, peer: PeerId): void
}

/** Options for {@link senderNode}. */
export interface SenderOptions {
  privateKey?: PrivateKey
  /** Changes a chunk's ciphertext before it is sent (to test a lying sender). */
  tamper?(index: number, ciphertext: Uint8Array): Uint8Array
  /** Waits before serving a chunk (to test timeouts). */
  stall?(index: number): Promise<void>
  init?: Partial<AttachmentProtocolInit>
}

/** A node serving attachments from `store`. */
export async function senderNode (crypto: Crypto, store: BlobStore, options: SenderOptions = {}): Promise<Sender> {
  const descriptors = new Map<string, AttachmentDescriptor>()
  const recipients = new Map<string, Set<string>>()
  const log: SenderLog = { reads: [], requests: [] }
  const source = blobStoreSource(crypto, store, id => descriptors.get(idToHex(id)))
  const node = await createLibp2p({
    ...(options.privateKey !== undefined ? { privateKey: options.privateKey } : {}),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      attachment: attachmentProtocol({
        authorise: (id, peer) => recipients.get(idToHex(id))?.has(peer.toString()) ?? false,
        source: {
          async read (id, index, opts) {
            log.reads.push(index)
            await options.stall?.(index)
            const ciphertext = await source.read(id, index, opts)
            return ciphertext === undefined || options.tamper === undefined ? ciphertext : options.tamper(index, ciphertext)
          }
        },
        onRequest: (peer, _id, ranges) => { log.requests.push({ peer: peer.toString(), ranges: ranges.map(r => ({ start: r.start, end: r.end })) }) },
        ...options.init
      })
    }
  })
  return {
    node,
    log,
    share (d, peer) {
      const key = idToHex(d.id)
      descriptors.set(key, d)
      recipients.set(key, (recipients.get(key) ?? new Set()).add(peer.toString()))
    }
  }
}
