/**
 * Writing: a new message, a reply (the quote shown above, cancellable) or
 * an edit of our own message; Enter sends, Shift+Enter breaks the line.
 * "+" attaches files (photos, GIFs, audio, anything), the text going as
 * the caption. Typing is told to the contact while the user types.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import type { RunningPeer } from '../app/client.js'
import type { HistoryEntry } from '../../../src/peer/index.js'

/** What the composer is writing. */
export type ComposerMode = { kind: 'new' } | { kind: 'reply', id: string } | { kind: 'edit', id: string, text: string }

/** A typing indicator is renewed at most this often, and turned off after this long without a key. */
const TYPING_RENEW_MS = 3_000
const TYPING_IDLE_MS = 4_000

interface Props {
  running: RunningPeer
  handle: string
  mode: ComposerMode
  target?: HistoryEntry
  onDone(): void
  onError(message: string): void
}

export function Composer ({ running, handle, mode, target, onDone, onError }: Props) {
  const [text, setText] = useState('')
  const [busy, setBusy] = useState(false)
  const input = useRef<HTMLTextAreaElement>(null)
  const files = useRef<HTMLInputElement>(null)
  const typing = useRef<{ last: number, idle?: ReturnType<typeof setTimeout> }>({ last: 0 })
  useEffect(() => {
    if (mode.kind === 'edit') setText(mode.text)
    if (mode.kind !== 'new') input.current?.focus()
  }, [mode])
  const stopTyping = (): void => {
    clearTimeout(typing.current.idle)
    if (typing.current.last !== 0) running.typing(handle, false)
    typing.current.last = 0
  }
  useEffect(() => stopTyping, [handle])
  const onInput = (value: string): void => {
    setText(value)
    const now = Date.now()
    if (now - typing.current.last > TYPING_RENEW_MS) {
      typing.current.last = now
      running.typing(handle, true)
    }
    clearTimeout(typing.current.idle)
    typing.current.idle = setTimeout(stopTyping, TYPING_IDLE_MS)
  }
  const send = async (): Promise<void> => {
    const body = text.trim()
    if (body === '' || busy) return
    setBusy(true)
    try {
      if (mode.kind === 'edit') await running.edit(handle, mode.id, body)
      else await running.sendText(handle, body, mode.kind === 'reply' ? mode.id : undefined)
      setText('')
      stopTyping()
      onDone()
    } catch (err) {
      onError((err as Error).message)
    } finally {
      setBusy(false)
      input.current?.focus()
    }
  }
  const attach = async (picked: FileList | null): Promise<void> => {
    if (picked == null || picked.length === 0) return
    setBusy(true)
    try {
      await running.sendFiles(handle, [...picked], text.trim())
      setText('')
      onDone()
    } catch (err) {
      onError((err as Error).message)
    } finally {
      setBusy(false)
      if (files.current != null) files.current.value = ''
    }
  }
  return (
    <form class="composer" onSubmit={(e) => { e.preventDefault(); void send() }}>
      {mode.kind !== 'new' && (
        <div class="composing" data-mode={mode.kind}>
          <span>{mode.kind === 'reply' ? 'Replying to: ' : 'Editing: '}<q>{(target?.text as string | undefined) ?? 'an attachment'}</q></span>
          <button type="button" class="link" onClick={() => { setText(''); onDone() }}>Cancel</button>
        </div>
      )}
      <div class="compose-row">
        <input ref={files} id="attach-input" type="file" multiple class="sr-only" tabIndex={-1} aria-hidden="true" onChange={(e) => { void attach(e.currentTarget.files) }} />
        <button type="button" class="plus" aria-label="Attach a photo, GIF, audio or file" onClick={() => { files.current?.click() }} disabled={busy || mode.kind === 'edit'}>+</button>
        <label for="compose" class="sr-only">Message</label>
        <textarea id="compose" ref={input} rows={1} placeholder="Message" value={text} onInput={(e) => { onInput(e.currentTarget.value) }}
          onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); void send() } }} />
        <button type="submit" disabled={busy || text.trim() === ''}>{mode.kind === 'edit' ? 'Save' : 'Send'}</button>
      </div>
    </form>
  )
}
