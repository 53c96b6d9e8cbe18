/**
 * Settings: who you are, privacy (read receipts, typing indicators, hide
 * my IP), notifications, relays, and the encrypted backup (export; restore
 * into another profile of this browser, since this one has an identity).
 * Switches take effect at once and are stored with the profile.
 */
import { useState } from 'preact/hooks'
import type { StarlingApp } from '../app/lifecycle.js'
import type { RunningPeer } from '../app/client.js'
import type { AppState } from '../app/state.js'
import type { Settings } from '../app/settings.js'
import { askNotificationPermission } from '../app/notify.js'
import { backRoute, routeHash } from './hooks.js'

/** A switch stored in the settings, with what it does in a hint under it. */
function Toggle ({ id, label, hint, checked, onChange }: { id: string, label: string, hint: string, checked: boolean, onChange(on: boolean): void }) {
  return (
    <div class="toggle">
      <label class="check" for={id}>
        <input id={id} type="checkbox" checked={checked} aria-describedby={`${id}-hint`} onChange={(e) => { onChange(e.currentTarget.checked) }} />
        {label}
      </label>
      <p id={`${id}-hint`} class="hint">{hint}</p>
    </div>
  )
}

/** Profile names a restore may go into (config.ts takes the same). */
const PROFILE_NAME = /^[a-z0-9_-]{1,32}$/

export function SettingsScreen ({ app, running, state }: { app: StarlingApp, running: RunningPeer, state: AppState }) {
  const settings = state.settings
  const [relays, setRelays] = useState((settings?.relays ?? []).join('\n'))
  const [passphrase, setPassphrase] = useState('')
  const [restoreProfile, setRestoreProfile] = useState('')
  const [message, setMessage] = useState<string>()
  const [error, setError] = useState<string>()
  if (settings == null) return null
  const act = async (what: () => Promise<string | undefined>): Promise<void> => {
    setError(undefined)
    setMessage(undefined)
    try {
      setMessage(await what())
    } catch (err) {
      setError((err as Error).message)
    }
  }
  const exportBackup = async (): Promise<string> => {
    if (passphrase.length < 8) throw new Error('Choose a backup passphrase of at least 8 characters.')
    const blob = await running.exportBackup(passphrase)
    const a = document.createElement('a')
    a.href = URL.createObjectURL(blob)
    a.download = `starling-${state.me?.name ?? 'backup'}.stbk`
    a.click()
    setTimeout(() => { URL.revokeObjectURL(a.href) }, 60_000)
    return 'Backup saved. Keep it and its passphrase safe: together they are your identity.'
  }
  const set = (patch: Partial<Settings>, note?: string): void => {
    void act(async () => {
      await app.updateSettings(patch)
      return note
    })
  }
  return (
    <main id="main" class="main settings" tabIndex={-1} aria-labelledby="settings-title">
      <div class="screen-head">
        <a class="back" href={routeHash(backRoute())} aria-label="Back">←</a>
        <h2 id="settings-title">Settings</h2>
      </div>
      <section aria-labelledby="you-title" class="card">
        <h3 id="you-title">You</h3>
        <dl>
          <dt>Handle</dt><dd><code>{state.me?.handle}</code></dd>
          <dt>Fingerprint</dt><dd><code class="fingerprint">{state.me?.fingerprint}</code></dd>
          <dt>Device</dt><dd><code>{state.me?.peerId}</code></dd>
          <dt>Storage</dt><dd>{state.persisted === true ? 'Kept by the browser (persistent)' : 'May be cleared by the browser when space runs low: export a backup'}</dd>
        </dl>
      </section>
      <section aria-labelledby="privacy-title" class="card">
        <h3 id="privacy-title">Privacy</h3>
        <Toggle id="set-read-receipts" label="Send read receipts" checked={settings.readReceipts} onChange={(on) => { set({ readReceipts: on }) }}
          hint="Off: contacts see your messages as delivered, never as read. Nothing about reading is sent." />
        <Toggle id="set-typing" label="Send typing indicators" checked={settings.typingIndicators} onChange={(on) => { set({ typingIndicators: on }) }}
          hint="Off: contacts are not told while you type." />
        <Toggle id="set-hide-ip" label="Hide my IP address" checked={settings.hideMyIp} onChange={(on) => { set({ hideMyIp: on }, 'Saved: reload the page to apply it.') }}
          hint="On: this tab makes no direct (WebRTC) connection to other people: your messages go through relays, so contacts never see your address (relays still do). Calls send their media through your relays' TURN server (with relays that offer none, calls cannot connect). Slower; applies when the page reloads." />
      </section>
      <section aria-labelledby="notify-title" class="card">
        <h3 id="notify-title">Notifications</h3>
        <label class="check">
          <input type="checkbox" checked={settings.notifications} onChange={(e) => {
            const on = e.currentTarget.checked
            void act(async () => {
              if (on && !await askNotificationPermission()) throw new Error('The browser did not allow notifications.')
              await app.saveSettings({ ...settings, notifications: on })
              return undefined
            })
          }} />
          Notify me of new messages while this tab is in the background
        </label>
        <p class="hint">With no Starling tab open there are no notifications. Muted chats never notify.</p>
      </section>
      <section aria-labelledby="relays-title" class="card">
        <h3 id="relays-title">Relays</h3>
        <label for="relays">Relay addresses, one per line (empty: the ones this page came with)</label>
        <textarea id="relays" rows={3} value={relays} onInput={(e) => { setRelays(e.currentTarget.value) }} />
        <button type="button" onClick={() => { void act(async () => {
          await app.saveSettings({ ...settings, relays: relays.split('\n').map(r => r.trim()).filter(r => r !== '') })
          return 'Saved: reload the page to use them.'
        }) }}>Save relays</button>
        <p class="hint">In use: {app.relays().join(', ') || 'none'}</p>
      </section>
      <section aria-labelledby="backup-title" class="card">
        <h3 id="backup-title">Backup</h3>
        <p>An encrypted file with your identity, contacts and history. Restore it on the setup screen of a new browser or with <code>starling import</code>.</p>
        <label for="export-passphrase">Backup passphrase</label>
        <input id="export-passphrase" type="password" autoComplete="new-password" value={passphrase} onInput={(e) => { setPassphrase(e.currentTarget.value) }} />
        <button type="button" onClick={() => { void act(exportBackup) }}>Export backup</button>
        <h4 id="restore-title">Restore a backup</h4>
        <p>This profile has an identity already, and a restore never overwrites one. Restore into another profile of this browser (each profile is a separate identity with its own storage); it opens in a new tab.</p>
        <form aria-labelledby="restore-title" onSubmit={(e) => {
          e.preventDefault()
          const name = restoreProfile.trim()
          if (!PROFILE_NAME.test(name) || name === state.profile) {
            setError('Choose a new profile name: 1 to 32 of a–z, 0–9, _ and -.')
            return
          }
          window.open(`${location.pathname}?profile=${name}`, '_blank', 'noopener')
        }}>
          <label for="restore-profile">New profile name</label>
          <input id="restore-profile" autoCapitalize="none" spellcheck={false} value={restoreProfile} onInput={(e) => { setRestoreProfile(e.currentTarget.value) }} />
          <button type="submit">Open the restore screen</button>
        </form>
      </section>
      <section aria-labelledby="keys-title" class="card">
        <h3 id="keys-title">Keyboard</h3>
        <dl class="shortcuts">
          <dt><kbd>Ctrl</kbd> <kbd>K</kbd></dt><dd>Search messages</dd>
          <dt><kbd>Alt</kbd> <kbd>N</kbd></dt><dd>New chat</dd>
          <dt><kbd>Ctrl</kbd> <kbd>,</kbd></dt><dd>Settings</dd>
          <dt><kbd>Alt</kbd> <kbd>↑</kbd> / <kbd>↓</kbd></dt><dd>Previous or next chat</dd>
          <dt><kbd>Enter</kbd></dt><dd>Send (<kbd>Shift</kbd> <kbd>Enter</kbd>: a new line)</dd>
          <dt><kbd>Esc</kbd></dt><dd>Close a picker or form, stop a reply, an edit or a recording, leave search, settings, a new chat or a safety number</dd>
          <dt>Arrow keys</dt><dd>Move in the emoji picker</dd>
        </dl>
      </section>
      {message != null && <p role="status" class="ok">{message}</p>}
      {error != null && <p role="alert" class="error">{error}</p>}
    </main>
  )
}
