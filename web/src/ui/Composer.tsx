/**
 * Writing: a new message, a reply (the quote shown above, cancellable) or
 * an edit of our own message; Enter sends, Shift+Enter breaks the line.
 * "+" attaches files (photos, GIFs, audio, anything), the text going as
 * the caption; the microphone records a voice note (VoiceNote.tsx); the
 * smiley opens the emoji picker, which inserts at the cursor. Typing is
 * told to the contact while the user types (unless turned off in settings).
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import type { RunningPeer } from '../app/client.js'
import type { HistoryEntry } from '../../../src/peer/index.js'
import { LazyEmojiPicker } from './LazyEmojiPicker.js'
import { VoiceNote } from './VoiceNote.js'

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
  const [picking, setPicking] = useState(false)
  const emojiButton = useRef<HTMLButtonElement>(null)
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
  /** Puts an emoji where the cursor is (or replaces the selection). */
  const insertEmoji = (emoji: string): void => {
    const box = input.current
    const at = box?.selectionStart ?? text.length
    const end = box?.selectionEnd ?? at
    onInput(text.slice(0, at) + emoji + text.slice(end))
    setPicking(false)
    requestAnimationFrame(() => {
      box?.focus()
      box?.setSelectionRange(at + emoji.length, at + emoji.length)
    })
  }
  const attach = async (picked: File[] | FileList | null): Promise<void> => {
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
    <form class="composer" aria-label="Write a message" onSubmit={(e) => { e.preventDefault(); void send() }}>
      {mode.kind !== 'new' && (
        <div class="composing" data-mode={mode.kind}>
          <span>{mode.kind === 'reply' ? 'Replying to: ' : 'Editing: '}<q>{(target?.text as string | undefined) ?? 'an attachment'}</q></span>
          <button type="button" class="link" onClick={() => { setText(''); onDone() }}>Cancel</button>
        </div>
      )}
      <div class="compose-row">
        <input ref={files} id="attach-input" type="file" multiple class="sr-only" tabIndex={-1} aria-hidden="true" onChange={(e) => { void attach(e.currentTarget.files) }} />
        <button type="button" class="plus" aria-label="Attach a photo, GIF, audio or file" title="Attach a photo, GIF, audio or file" onClick={() => { files.current?.click() }} disabled={busy || mode.kind === 'edit'}>+</button>
        <VoiceNote disabled={busy || mode.kind === 'edit'} onRecorded={async (file) => { await attach([file]) }} onError={onError} />
        <label for="compose" class="sr-only">Message</label>
        <textarea id="compose" ref={input} rows={1} placeholder="Message" value={text} onInput={(e) => { onInput(e.currentTarget.value) }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); void send() }
            // Escape leaves a reply or an edit.
            if (e.key === 'Escape' && mode.kind !== 'new') { e.preventDefault(); setText(''); onDone() }
          }} />
        <button type="button" class="icon" ref={emojiButton} aria-label="Add an emoji" title="Add an emoji" aria-expanded={picking} onClick={() => { setPicking(!picking) }}>😀</button>
        <button type="submit" disabled={busy || text.trim() === ''}>{mode.kind === 'edit' ? 'Save' : 'Send'}</button>
      </div>
      {picking && <LazyEmojiPicker label="Add an emoji to the message" onPick={insertEmoji} onClose={() => { setPicking(false); emojiButton.current?.focus() }} />}
    </form>
  )
}
