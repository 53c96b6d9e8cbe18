/** Plain-JSON forms of messenger values, for APIs and events. */
import type { AttachmentDescriptor, ConversationView, MessageBody, MessageView } from './model/index.js'
import { toHex } from './bytes.js'

/** A message body (or an attachment descriptor) with bytes as hex, nested objects and arrays too. */
export function bodyToJson (body: MessageBody | AttachmentDescriptor): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(body)) {
    if (v instanceof Uint8Array) out[k] = toHex(v)
    else if (Array.isArray(v)) out[k] = v.map(x => x instanceof Uint8Array ? toHex(x) : x != null && typeof x === 'object' ? bodyToJson(x as MessageBody) : x)
    else if (v != null && typeof v === 'object') out[k] = bodyToJson(v as MessageBody)
    else out[k] = v
  }
  return out
}

/**
 * One timeline entry with bytes as hex. `attachments` lists every file of
 * the message; `attachment` (the first) stays for readers of the API from
 * before messages carried several.
 */
export function messageViewToJson (m: MessageView): Record<string, unknown> {
  const attachments = m.attachments?.map(a => bodyToJson(a))
  return {
    ...m,
    author: { account: toHex(m.author.account), device: toHex(m.author.device) },
    attachments,
    attachment: attachments?.[0]
  }
}

/** A conversation view with bytes as hex. */
export function viewToJson (view: ConversationView): Record<string, unknown> {
  return { ...view, messages: view.messages.map(messageViewToJson) }
}
