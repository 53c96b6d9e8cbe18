/** The conversations, newest first: name, unread count, the newest message, requests and warnings marked. */
import type { ConversationSummary } from '../../../src/peer/index.js'
import { formatTime, shortName } from './format.js'
import { routeHash } from './hooks.js'

function preview (c: ConversationSummary): string {
  if (c.last == null) return 'No messages yet'
  if (c.last.deleted) return 'Message deleted'
  const text = c.last.text ?? (c.last.kind === 'attachment' ? 'Attachment' : '')
  return c.last.mine ? `You: ${text}` : text
}

export function ConversationList ({ conversations, current }: { conversations: ConversationSummary[], current?: string }) {
  if (conversations.length === 0) return <p class="hint list-empty">No chats yet.</p>
  return (
    <ul class="conversations">
      {conversations.map(c => (
        <li key={c.account} data-handle={c.handle} data-unread={c.unread} data-state={c.state}>
          <a href={routeHash({ screen: 'thread', handle: c.handle })} aria-current={current === c.handle ? 'page' : undefined}>
            <span class="title">
              <span class="name">{shortName(c.handle)}</span>
              {c.state === 'request' && <span class="badge request">Request</span>}
              {c.state === 'blocked' && <span class="badge blocked">Blocked</span>}
              {c.keyChange != null && <span class="badge warn">Key changed</span>}
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
