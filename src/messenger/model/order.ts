/**
 * The total order of a conversation: (lamport, author account key, id),
 * compared numerically then byte-wise. Every peer sorts the same messages
 * the same way; the store's order keys (src/store/keys.ts) sort identically
 * as bytes.
 */
import type { Message } from './types.js'

// A plain loop: uint8arrays' compare goes through Buffer.compare in Node,
// whose per-call checks cost more than comparing 16 or 32 bytes.
function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i]
  }
  return a.length - b.length
}

/** Negative when `a` comes first, positive when `b` does, 0 for the same position. */
export function compareMessages (a: Pick<Message, 'lamport' | 'author' | 'id'>, b: Pick<Message, 'lamport' | 'author' | 'id'>): number {
  if (a.lamport !== b.lamport) return a.lamport < b.lamport ? -1 : 1
  return compareBytes(a.author.account, b.author.account) || compareBytes(a.id, b.id)
}
