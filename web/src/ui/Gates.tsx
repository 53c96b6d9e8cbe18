/** Screens before the app runs: loading, open in another tab, passphrase, error. */
import { useState } from 'preact/hooks'
import type { StarlingApp } from '../app/lifecycle.js'

export function Loading ({ text }: { text: string }) {
  return <main id="main" class="center"><p role="status">{text}</p></main>
}

/** Another tab of this profile runs its node: this one starts nothing until asked. */
export function Elsewhere ({ app }: { app: StarlingApp }) {
  return (
    <main id="main" class="center" data-screen="elsewhere">
      <h1>Starling is open in another tab</h1>
      <p>Only one tab at a time can run your Starling node.</p>
      <button type="button" onClick={() => { void app.useHere() }}>Use here</button>
    </main>
  )
}

/** The key file is encrypted: ask for the passphrase. */
export function Unlock ({ app, error }: { app: StarlingApp, error?: string }) {
  const [passphrase, setPassphrase] = useState('')
  return (
    <main id="main" class="center">
      <h1>Unlock Starling</h1>
      <form onSubmit={(e) => { e.preventDefault(); void app.unlock(passphrase) }}>
        <label for="unlock-passphrase">Passphrase</label>
        <input id="unlock-passphrase" type="password" autoFocus autoComplete="current-password" value={passphrase} onInput={(e) => { setPassphrase(e.currentTarget.value) }} />
        {error != null && <p role="alert" class="error">{error}</p>}
        <button type="submit">Unlock</button>
      </form>
    </main>
  )
}

export function Failure ({ error }: { error?: string }) {
  return (
    <main id="main" class="center">
      <h1>Starling could not start</h1>
      <p role="alert" class="error">{error ?? 'Unknown error'}</p>
      <button type="button" onClick={() => { location.reload() }}>Try again</button>
    </main>
  )
}
