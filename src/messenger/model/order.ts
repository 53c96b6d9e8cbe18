/**
 * The total order of a conversation: (lamport, author account key, id),
 * compared numerically then byte-wise. Every peer sorts the same messages
 * the same way; the store's order keys (src/store/keys.ts) sort identically
 * as bytes.
 */
import { compare } from 'uint8arrays/compare'
import type { Message } from './types.js'

/** Negative when `a` comes first, positive when `b` does, 0 for the same position. */
export function compareMessages (a: Pick<Message, 'lamport' | 'author' | 'id'>, b: Pick<Message, 'lamport' | 'author' | 'id'>): number {
  if (a.lamport !== b.lamport) return a.lamport < b.lamport ? -1 : 1
  const byAuthor = compare(a.author.account, b.author.account)
  if (byAuthor !== 0) return byAuthor
  return compare(a.id, b.id)
}
