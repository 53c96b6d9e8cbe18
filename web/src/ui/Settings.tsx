/** Settings: who you are, relays, notifications, storage, and the encrypted backup. */
import { useState } from 'preact/hooks'
import type { StarlingApp } from '../app/lifecycle.js'
import type { RunningPeer } from '../app/client.js'
import type { AppState } from '../app/state.js'
import { askNotificationPermission } from '../app/notify.js'

export function SettingsScreen ({ app, running, state }: { app: StarlingApp, running: RunningPeer, state: AppState }) {
  const settings = state.settings
  const [relays, setRelays] = useState((settings?.relays ?? []).join('\n'))
  const [passphrase, setPassphrase] = useState('')
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
  return (
    <main id="main" class="main settings" tabIndex={-1}>
      <h2>Settings</h2>
      <section aria-labelledby="you-title" class="card">
        <h3 id="you-title">You</h3>
        <dl>
          <dt>Handle</dt><dd><code>{state.me?.handle}</code></dd>
          <dt>Fingerprint</dt><dd><code class="fingerprint">{state.me?.fingerprint}</code></dd>
          <dt>Device</dt><dd><code>{state.me?.peerId}</code></dd>
          <dt>Storage</dt><dd>{state.persisted === true ? 'Kept by the browser (persistent)' : 'May be cleared by the browser when space runs low: export a backup'}</dd>
        </dl>
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
        <p class="hint">With no Starling tab open there are no notifications.</p>
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
      </section>
      {message != null && <p role="status" class="ok">{message}</p>}
      {error != null && <p role="alert" class="error">{error}</p>}
    </main>
  )
}
