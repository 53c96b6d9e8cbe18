/** Plain-JSON forms of messenger values, for APIs and events. */
import type { ConversationView, MessageBody, MessageView } from './model/index.js'
import { toHex } from './bytes.js'

/** A message body with bytes as hex. */
export function bodyToJson (body: MessageBody): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(body)) {
    if (v instanceof Uint8Array) out[k] = toHex(v)
    else if (Array.isArray(v)) out[k] = v.map(x => x instanceof Uint8Array ? toHex(x) : x)
    else if (v != null && typeof v === 'object') out[k] = bodyToJson(v as MessageBody)
    else out[k] = v
  }
  return out
}

/** One timeline entry with bytes as hex. */
export function messageViewToJson (m: MessageView): Record<string, unknown> {
  return {
    ...m,
    author: { account: toHex(m.author.account), device: toHex(m.author.device) },
    attachment: m.attachment == null ? undefined : bodyToJson({ kind: 'attachment', attachment: m.attachment }).attachment
  }
}

/** A conversation view with bytes as hex. */
export function viewToJson (view: ConversationView): Record<string, unknown> {
  return { ...view, messages: view.messages.map(messageViewToJson) }
}
