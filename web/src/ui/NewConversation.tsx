/**
 * Start a conversation by handle. A bare name that is not a contact yet is
 * resolved, and the `name~tag` and fingerprint it resolved to are shown
 * for the user to confirm before it is pinned (DESIGN.md, Identity: a DHT
 * cannot say who was first, so nothing is picked silently). The question
 * takes focus when it appears; Escape cancels it.
 */
import { useLayoutEffect, useRef, useState } from 'preact/hooks'
import type { RunningPeer } from '../app/client.js'
import type { AppState } from '../app/state.js'
import { backRoute, go, routeHash } from './hooks.js'

export function NewConversation ({ running, state }: { running: RunningPeer, state: AppState }) {
  const [query, setQuery] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const confirm = state.confirm
  const input = useRef<HTMLInputElement>(null)
  const yes = useRef<HTMLButtonElement>(null)
  // The question takes focus when it appears (a screen reader reads it; Enter answers yes).
  // (Once the look-up is over: a disabled button takes no focus.)
  useLayoutEffect(() => { if (confirm != null && !busy) yes.current?.focus() }, [confirm?.handle, busy])
  /** Cancels the pending confirmation and gives focus back to the handle box. */
  const cancel = (): void => {
    running.cancelConfirmation()
    input.current?.focus()
  }
  const run = async (what: () => Promise<string | undefined>): Promise<void> => {
    setBusy(true)
    setError(undefined)
    try {
      const handle = await what()
      if (handle != null) go({ screen: 'thread', handle })
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <main id="main" class="main new-chat" tabIndex={-1}>
      <div class="screen-head">
        <a class="back" href={routeHash(backRoute())} aria-label="Back">←</a>
        <h2>New chat</h2>
      </div>
      <form onSubmit={(e) => { e.preventDefault(); void run(async () => await running.startConversation(query)) }}>
        <label for="new-handle">Handle</label>
        <input id="new-handle" ref={input} autoCapitalize="none" spellcheck={false} required aria-describedby="new-handle-hint"
          value={query} onInput={(e) => { setQuery(e.currentTarget.value) }} />
        <p id="new-handle-hint" class="hint">A name like <code>alice</code>, or its exact form <code>alice~tag</code>.</p>
        <button type="submit" disabled={busy}>{busy ? 'Looking up…' : 'Start chat'}</button>
      </form>
      {error != null && <p role="alert" class="error">{error}</p>}
      {confirm != null && (
        <section class="confirm card" role="dialog" aria-modal="false" aria-labelledby="confirm-title" data-confirm-handle={confirm.handle}
          onKeyDown={(e) => { if (e.key === 'Escape') { e.preventDefault(); cancel() } }}>
          <h3 id="confirm-title">Is this the {confirm.query} you mean?</h3>
          <p>The name <strong>{confirm.query}</strong> belongs to:</p>
          <dl>
            <dt>Handle</dt><dd><code>{confirm.handle}</code></dd>
            <dt>Fingerprint</dt><dd><code class="fingerprint">{confirm.fingerprint}</code></dd>
          </dl>
          <p class="hint">Anyone can call themselves {confirm.query}. Compare the fingerprint with the person (in person or over another channel) if it matters.</p>
          <div class="actions">
            <button type="button" ref={yes} onClick={() => { void run(async () => await running.confirmContact()) }} disabled={busy}>Yes, chat with {confirm.handle}</button>
            <button type="button" class="secondary" onClick={cancel}>Cancel</button>
          </div>
        </section>
      )}
    </main>
  )
}
