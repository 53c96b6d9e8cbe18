/**
 * Searching the history, in this tab only: every conversation's messages
 * are read from the local store and matched here; the query never leaves
 * the page. Matching ignores case and accents ("cafe" finds "Café") and
 * looks at the current text, attachment captions and file names; deleted
 * messages are not found.
 */
import type { ConversationSummary } from '../../../src/peer/index.js'
import type { Messenger } from '../../../src/messenger/index.js'
import { fromHex, toHex } from '../../../src/messenger/bytes.js'

/** At most this many results are shown (newest first). */
export const MAX_SEARCH_HITS = 100
/** Queries are cut to this many characters. */
const MAX_QUERY_CHARS = 200

/** One message that matched. */
export interface SearchHit {
  /** The conversation's handle and account (hex). */
  handle: string
  account: string
  /** Message id, hex. */
  id: string
  text: string
  timestamp: number
  /** Whether this account wrote it. */
  mine: boolean
}

/** Lower case, without accents (NFD, combining marks dropped), so that matching forgives both. */
export function foldForSearch (s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLocaleLowerCase()
}

/** The messages of `conversations` whose text, caption or file name contains `query`, newest first. */
export async function searchHistory (messenger: Messenger, conversations: ConversationSummary[], query: string): Promise<SearchHit[]> {
  const needle = foldForSearch(query.trim().slice(0, MAX_QUERY_CHARS))
  if (needle === '') return []
  const me = toHex(messenger.init.identity.accountPublicKey)
  const hits: SearchHit[] = []
  for (const c of conversations) {
    const { messages } = await messenger.history.view(fromHex(c.account))
    for (const m of messages) {
      if (m.deleted) continue
      const names = (m.attachments ?? []).map(a => a.fileName)
      const text = m.text ?? names.join(', ')
      const haystack = [m.text, ...names].filter((x): x is string => x != null).join('\n')
      if (!foldForSearch(haystack).includes(needle)) continue
      hits.push({ handle: c.handle, account: c.account, id: m.id, text, timestamp: m.timestamp, mine: toHex(m.author.account) === me })
    }
  }
  return hits.sort((a, b) => b.timestamp - a.timestamp).slice(0, MAX_SEARCH_HITS)
}

