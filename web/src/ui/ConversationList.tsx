/**
 * The conversations, newest first: name, unread count, the newest message,
 * warnings and muted ones marked. Message requests (people not yet in the
 * contacts) are listed apart, above, so that they are seen and decided.
 */
import type { ConversationSummary } from '../../../src/peer/index.js'
import { formatTime, shortName } from './format.js'
import { routeHash } from './hooks.js'

function preview (c: ConversationSummary): string {
  if (c.last == null) return 'No messages yet'
  if (c.last.deleted) return 'Message deleted'
  const text = c.last.text ?? (c.last.kind === 'attachment' ? 'Attachment' : c.last.kind === 'call' ? 'Call' : '')
  return c.last.mine ? `You: ${text}` : text
}

interface Props {
  conversations: ConversationSummary[]
  current?: string
  /** Muted conversations' accounts (hex). */
  muted: string[]
}

function Rows ({ conversations, current, muted }: Props) {
  return (
    <ul class="conversations">
      {conversations.map(c => (
        <li key={c.account} data-handle={c.handle} data-unread={c.unread} data-state={c.state} data-muted={muted.includes(c.account) ? 'true' : undefined}>
          <a href={routeHash({ screen: 'thread', handle: c.handle })} aria-current={current === c.handle ? 'page' : undefined}>
            <span class="title">
              <span class="name">{shortName(c.handle)}</span>
              {c.state === 'request' && <span class="badge request">Request</span>}
              {c.state === 'blocked' && <span class="badge blocked">Blocked</span>}
              {c.keyChange != null && <span class="badge warn">Key changed</span>}
              {muted.includes(c.account) && <span class="badge muted" title="Muted: no notifications">Muted</span>}
              {c.unread > 0 && <span class="badge unread" aria-label={`${c.unread} unread`}>{c.unread}</span>}
            </span>
            <span class="preview">{preview(c)}</span>
            {c.last != null && <time class="when" dateTime={new Date(c.last.timestamp).toISOString()}>{formatTime(c.last.timestamp)}</time>}
          </a>
        </li>
      ))}
    </ul>
  )
}

export function ConversationList ({ conversations, current, muted }: Props) {
  if (conversations.length === 0) return <p class="hint list-empty">No chats yet.</p>
  const requests = conversations.filter(c => c.state === 'request')
  const chats = conversations.filter(c => c.state !== 'request')
  return (
    <>
      {requests.length > 0 && (
        <section class="requests" aria-labelledby="requests-title">
          <h3 id="requests-title" class="list-title">Message requests ({requests.length})</h3>
          <p class="hint list-hint">People you have not chatted with. Open one to accept or block.</p>
          <Rows conversations={requests} current={current} muted={muted} />
        </section>
      )}
      {chats.length > 0 && requests.length > 0 && <h3 class="list-title">Chats</h3>}
      <Rows conversations={chats} current={current} muted={muted} />
    </>
  )
}
