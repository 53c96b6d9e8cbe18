/** First run: create an identity (handle, optional passphrase) or restore a backup. */
import { useState } from 'preact/hooks'
import type { StarlingApp } from '../app/lifecycle.js'

/** The setup screen. */
export function Setup ({ app }: { app: StarlingApp }) {
  return (
    <main id="main" class="setup" tabIndex={-1}>
      <h1>Welcome to Starling</h1>
      <p>Your messages are encrypted end to end and kept in this browser. No account server, no phone number.</p>
      <CreateIdentity app={app} />
      <ImportBackup app={app} />
    </main>
  )
}

function CreateIdentity ({ app }: { app: StarlingApp }) {
  const [handle, setHandle] = useState('')
  const [passphrase, setPassphrase] = useState('')
  const [again, setAgain] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    if (passphrase !== again) {
      setError('The two passphrases differ.')
      return
    }
    setBusy(true)
    setError(undefined)
    try {
      await app.createIdentity(handle.trim(), passphrase)
    } catch (err) {
      setError((err as Error).message)
      setBusy(false)
    }
  }
  return (
    <section aria-labelledby="create-title" class="card">
      <h2 id="create-title">Create your identity</h2>
      <form onSubmit={(e) => { void submit(e) }}>
        <label for="handle">Handle</label>
        <input id="handle" name="handle" required autoComplete="username" autoCapitalize="none" spellcheck={false}
          pattern="[a-z0-9_]{3,30}" aria-describedby="handle-hint" value={handle} onInput={(e) => { setHandle(e.currentTarget.value) }} />
        <p id="handle-hint" class="hint">3 to 30 characters: a–z, 0–9 and _. Others find you by it.</p>
        <label for="passphrase">Passphrase (optional)</label>
        <input id="passphrase" type="password" autoComplete="new-password" aria-describedby="passphrase-hint" value={passphrase} onInput={(e) => { setPassphrase(e.currentTarget.value) }} />
        <p id="passphrase-hint" class="hint">With a passphrase your keys, messages and files are encrypted in this browser; you type it each time you open Starling.</p>
        <label for="passphrase-again">Passphrase again</label>
        <input id="passphrase-again" type="password" autoComplete="new-password" value={again} onInput={(e) => { setAgain(e.currentTarget.value) }} />
        {error != null && <p role="alert" class="error">{error}</p>}
        <button type="submit" disabled={busy}>{busy ? 'Creating…' : 'Create'}</button>
      </form>
    </section>
  )
}

function ImportBackup ({ app }: { app: StarlingApp }) {
  const [file, setFile] = useState<File>()
  const [backupPassphrase, setBackupPassphrase] = useState('')
  const [identityPassphrase, setIdentityPassphrase] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    if (file == null) return
    setBusy(true)
    setError(undefined)
    try {
      await app.importBackup(file, backupPassphrase, identityPassphrase)
    } catch (err) {
      setError((err as Error).message)
      setBusy(false)
    }
  }
  return (
    <section aria-labelledby="import-title" class="card">
      <h2 id="import-title">Restore a backup</h2>
      <p>A backup made with <code>starling export</code> or in Settings of another tab. This browser then is that device: stop the old one.</p>
      <form onSubmit={(e) => { void submit(e) }}>
        <label for="backup-file">Backup file</label>
        <input id="backup-file" type="file" required onChange={(e) => { setFile(e.currentTarget.files?.[0]) }} />
        <label for="backup-passphrase">Backup passphrase</label>
        <input id="backup-passphrase" type="password" required autoComplete="off" value={backupPassphrase} onInput={(e) => { setBackupPassphrase(e.currentTarget.value) }} />
        <label for="identity-passphrase">Identity passphrase (if it had one)</label>
        <input id="identity-passphrase" type="password" autoComplete="off" value={identityPassphrase} onInput={(e) => { setIdentityPassphrase(e.currentTarget.value) }} />
        {error != null && <p role="alert" class="error">{error}</p>}
        <button type="submit" disabled={busy || file == null}>{busy ? 'Restoring…' : 'Restore'}</button>
      </form>
    </section>
  )
}
