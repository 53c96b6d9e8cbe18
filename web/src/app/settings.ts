/** The app's own settings, kept in the profile's IndexedDB table beside the key file. */
import type { KeyValueTable } from '../platform/platform.js'

/** What the user chose. */
export interface Settings {
  /** Relays to use instead of the page's (empty: the page's). */
  relays: string[]
  /** Show a browser notification for a new message while the tab is hidden. */
  notifications: boolean
  /** Tell contacts when their messages were read (off: nothing is sent; they see "delivered"). */
  readReceipts: boolean
  /** Tell contacts while typing (off: no typing message is sent). */
  typingIndicators: boolean
  /**
   * Hide my IP address: no WebRTC with other peers (their traffic goes
   * through relays; read at start). Calls will relay their media through TURN.
   */
  hideMyIp: boolean
  /** Muted conversations (account keys, hex): no notification, a muted badge. */
  muted: string[]
  /**
   * Contacts whose safety number the user compared and marked verified:
   * account key (hex) -> the 60 digits then. Cleared when their keys change.
   */
  verified: Record<string, string>
}

export const DEFAULT_SETTINGS: Settings = {
  relays: [],
  notifications: true,
  readReceipts: true,
  typingIndicators: true,
  hideMyIp: false,
  muted: [],
  verified: {}
}

const KEY = 'settings'

/** The stored settings, defaults filled in (a field of the wrong type takes its default). */
export async function loadSettings (table: KeyValueTable): Promise<Settings> {
  const stored = await table.get<Record<string, unknown>>(KEY) ?? {}
  const out: Settings = { ...DEFAULT_SETTINGS }
  for (const key of ['notifications', 'readReceipts', 'typingIndicators', 'hideMyIp'] as const) {
    if (typeof stored[key] === 'boolean') out[key] = stored[key]
  }
  for (const key of ['relays', 'muted'] as const) {
    const v = stored[key]
    if (Array.isArray(v)) out[key] = v.filter((x): x is string => typeof x === 'string')
  }
  const verified = stored.verified
  if (verified != null && typeof verified === 'object' && !Array.isArray(verified)) {
    out.verified = Object.fromEntries(Object.entries(verified).filter((e): e is [string, string] => typeof e[1] === 'string'))
  }
  return out
}

/** Stores the settings. */
export async function saveSettings (table: KeyValueTable, settings: Settings): Promise<void> {
  await table.put(KEY, settings)
}
