/** The app's own settings, kept in the profile's IndexedDB table beside the key file. */
import type { KeyValueTable } from '../platform/platform.js'

/** What the user chose. */
export interface Settings {
  /** Relays to use instead of the page's (empty: the page's). */
  relays: string[]
  /** Show a browser notification for a new message while the tab is hidden. */
  notifications: boolean
}

export const DEFAULT_SETTINGS: Settings = { relays: [], notifications: true }

const KEY = 'settings'

/** The stored settings, defaults filled in. */
export async function loadSettings (table: KeyValueTable): Promise<Settings> {
  const stored = await table.get<Partial<Settings>>(KEY)
  return { ...DEFAULT_SETTINGS, ...stored }
}

/** Stores the settings. */
export async function saveSettings (table: KeyValueTable, settings: Settings): Promise<void> {
  await table.put(KEY, settings)
}
