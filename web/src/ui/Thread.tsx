/**
 * One conversation: who it is with (and whether it is a request, muted,
 * verified, or its keys changed), its messages oldest first, who is typing,
 * and the composer. The header leads to the safety number and mutes.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import type { StarlingApp } from '../app/lifecycle.js'
import type { RunningPeer } from '../app/client.js'
import type { AppState } from '../app/state.js'
import type { HistoryEntry } from '../../../src/peer/index.js'
import { Composer } from './Composer.js'
import type { ComposerMode } from './Composer.js'
import { MessageRow, jumpTo } from './Message.js'
import { shortName } from './format.js'
import { routeHash } from './hooks.js'
import { THREAD_WINDOW, windowStart } from './window.js'

interface Props {
  app: StarlingApp
  running: RunningPeer
  state: AppState
  handle: string
  /** A message to show and focus once the history is there (a search result). */
  message?: string
}

export function Thread ({ app, running, state, handle, message }: Props) {
  const [error, setError] = useState<string>()
  const [mode, setMode] = useState<ComposerMode>({ kind: 'new' })
  const [shown, setShown] = useState(THREAD_WINDOW)
  const listRef = useRef<HTMLDivElement>(null)
  useEffect(() => {
    setError(undefined)
    setMode({ kind: 'new' })
    setShown(THREAD_WINDOW)
    running.openThread(handle).catch((err: Error) => { setError(err.message) })
    return () => { running.closeThread() }
  }, [running, handle])
  const view = state.thread
  const summary = state.conversations.find(c => c.handle === handle || c.account === view?.account)
  const count = view?.messages.length ?? 0
  const shownFor = view?.handle
  useEffect(() => {
    if (message != null && view?.messages.some(m => m.id === message) === true) {
      jumpTo(message)
      return
    }
    const list = listRef.current
    if (list != null) list.scrollTop = list.scrollHeight
  }, [count, message, shownFor])
  const act = async (what: () => Promise<unknown>): Promise<void> => {
    setError(undefined)
    try {
      await what()
    } catch (err) {
      setError((err as Error).message)
    }
  }
  const all = view?.messages ?? []
  const byId = new Map<string, HistoryEntry>(all.map(m => [m.id, m]))
  const from = windowStart(all.length, shown, message != null ? all.findIndex(m => m.id === message) : -1)
  const typing = state.typing.includes(view?.handle ?? handle)
  const muted = summary != null && state.settings?.muted.includes(summary.account) === true
  const verified = summary != null && state.settings?.verified[summary.account] != null
  const name = shortName(handle)
  const callBusy = state.call != null && state.call.state !== 'ended'
  // A message's time is written differently once it is not from today.
  const day = new Date().toDateString()
  const safetyHref = routeHash({ screen: 'safety', handle: view?.handle ?? handle })
  return (
    <main id="main" class="main thread" tabIndex={-1} aria-labelledby="thread-title" data-handle={view?.handle ?? handle}>
      <header class="thread-head">
        <a class="back" href="#/" aria-label="Back to chats">←</a>
        <h2 id="thread-title">{shortName(view?.handle ?? handle)}<span class="tag">{(view?.handle ?? handle).includes('~') ? `~${(view?.handle ?? handle).split('~')[1]}` : ''}</span></h2>
        {verified && <span class="badge verified" title="You compared the safety number">Verified</span>}
        {muted && <span class="badge muted">Muted</span>}
        <div class="thread-actions">
          {running.calls != null && summary?.state === 'accepted' && <>
            <button type="button" class="secondary" disabled={callBusy} onClick={() => { void act(async () => { await running.calls?.place(view?.handle ?? handle, false) }) }}>Voice call</button>
            <button type="button" class="secondary" disabled={callBusy} onClick={() => { void act(async () => { await running.calls?.place(view?.handle ?? handle, true) }) }}>Video call</button>
          </>}
          <a href={safetyHref}>Safety number</a>
          {summary != null && (
            <button type="button" class="secondary" aria-pressed={muted} onClick={() => { void act(async () => { await app.setMuted(summary.account, !muted) }) }}>
              {muted ? 'Unmute' : 'Mute'}
            </button>
          )}
        </div>
      </header>
      {summary?.state === 'request' && (
        <section class="banner" aria-label="Message request">
          <p>{name} is not in your contacts. Accept to reply and receive their files; block to drop what they send.</p>
          <button type="button" onClick={() => { void act(async () => { await running.accept(view?.handle ?? handle) }) }}>Accept</button>
          <button type="button" class="danger" onClick={() => { void act(async () => { await running.block(view?.handle ?? handle) }) }}>Block</button>
        </section>
      )}
      {summary?.keyChange != null && (
        <section class="banner warn" role="alert" aria-label="Safety warning">
          <p>The keys of {name} changed. This happens when they restore a backup on a new device, or when someone else claims to be them. Sending is paused until you accept the new keys: compare the safety number with {name} first.</p>
          <a class="button" href={safetyHref}>View safety number</a>
          <button type="button" onClick={() => { void act(async () => { await app.acceptNewKeys(view?.handle ?? handle, summary.account) }) }}>Accept new keys</button>
        </section>
      )}
      {error != null && <p role="alert" class="error">{error}</p>}
      <div class="messages" ref={listRef} role="log" aria-live="polite" aria-label={`Messages with ${shortName(handle)}`} tabIndex={0}>
      {from > 0 && <button type="button" class="link earlier" onClick={() => { setShown(all.length - from + THREAD_WINDOW) }}>Show earlier messages</button>}
      <ol>
        {view?.messages.slice(from).map(m => (
          <MessageRow key={m.id} day={day} m={m} mine={running.isMine((m.author as { account: string }).account)} target={m.replyTo != null ? byId.get((m.replyTo as { id: string }).id) : undefined}
            running={running} handle={view.handle} onReply={() => { setMode({ kind: 'reply', id: m.id }) }} onEdit={() => { setMode({ kind: 'edit', id: m.id, text: m.text as string }) }} onError={setError} />
        ))}
      </ol>
      </div>
      <p class="typing" aria-live="polite">{typing ? `${shortName(handle)} is typing…` : ''}</p>
      <Composer running={running} handle={view?.handle ?? handle} mode={mode} target={mode.kind !== 'new' ? byId.get(mode.id) : undefined} onDone={() => { setMode({ kind: 'new' }) }} onError={setError} />
    </main>
  )
}
