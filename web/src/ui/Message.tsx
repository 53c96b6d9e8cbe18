/**
 * One message: its quote (a reply; activating it moves to the original),
 * text or attachment, reactions, edit history, time and, for ours, the
 * delivery state (a failed one can be sent again), and its actions.
 * `data-message-id` names it in the DOM for tests and links.
 */
import { Component } from 'preact'
import { useLayoutEffect, useRef, useState } from 'preact/hooks'
import type { HistoryEntry } from '../../../src/peer/index.js'
import type { RunningPeer } from '../app/client.js'
import { Attachments } from './Attachment.js'
import { callText, deliveryText, formatTime } from './format.js'
import { go, parseRoute } from './hooks.js'
import { MAX_REACTIONS_SHOWN } from './window.js'
import { LazyEmojiPicker } from './LazyEmojiPicker.js'

interface Props {
  m: HistoryEntry
  mine: boolean
  target?: HistoryEntry
  running: RunningPeer
  handle: string
  onReply(): void
  onEdit(): void
  onError(message: string): void
}

interface Reaction { emoji: string, by: string[] }
interface Version { id: string, text: string, timestamp: number }

/** Moves focus to a message of the list (the target of a quote); one before the rendered window is gone to through the route, which widens it. */
export function jumpTo (id: string): void {
  const el = document.getElementById(`m-${id}`)
  if (el == null) {
    const route = parseRoute(location.hash)
    if (route.screen === 'thread' && route.message !== id) go({ ...route, message: id })
    return
  }
  el.scrollIntoView({ block: 'center' })
  el.focus()
  el.classList.add('flash')
  setTimeout(() => { el.classList.remove('flash') }, 1500)
}

const QUICK = ['👍', '❤️', '😂']

/** The reactions to show: all of them while few, else the user's own (so they can take them back) and the most given. */
function shownReactions (reactions: Reaction[], isMine: (account: string) => boolean): Reaction[] {
  if (reactions.length <= MAX_REACTIONS_SHOWN) return reactions
  const rank = (r: Reaction): number => (r.by.some(isMine) ? 1e9 : 0) + r.by.length
  return [...reactions].sort((a, b) => rank(b) - rank(a)).slice(0, MAX_REACTIONS_SHOWN)
}

export function MessageItem ({ m, mine, target, running, handle, onReply, onEdit, onError }: Props) {
  const [reacting, setReacting] = useState(false)
  const [picking, setPicking] = useState(false)
  const [emoji, setEmoji] = useState('')
  const reactButton = useRef<HTMLButtonElement>(null)
  const pickerButton = useRef<HTMLButtonElement>(null)
  const emojiInput = useRef<HTMLInputElement>(null)
  const self = useRef<HTMLLIElement>(null)
  // Opening the form puts the cursor where an emoji is typed.
  useLayoutEffect(() => { if (reacting) emojiInput.current?.focus() }, [reacting])
  /** Closes the reaction form and gives focus back to its button. */
  const closeReacting = (): void => {
    setReacting(false)
    setPicking(false)
    setEmoji('')
    reactButton.current?.focus()
  }
  const reactions = (m.reactions as Reaction[] | undefined) ?? []
  const shown = shownReactions(reactions, (a) => running.isMine(a))
  const history = (m.history as Version[] | undefined) ?? []
  const deleted = m.deleted === true
  const act = async (what: () => Promise<unknown>): Promise<void> => {
    try {
      await what()
    } catch (err) {
      onError((err as Error).message)
    }
  }
  const react = async (e: string, remove = false): Promise<void> => {
    await act(async () => { await running.react(handle, m.id, e, remove) })
  }
  const time = m.timestamp as number
  return (
    <li id={`m-${m.id}`} ref={self} class={`message ${mine ? 'mine' : 'theirs'}${deleted ? ' deleted' : ''}`} tabIndex={-1}
      data-message-id={m.id} data-kind={m.kind as string} data-state={m.sendState} data-mine={mine ? 'true' : 'false'}>
      {m.replyTo != null && (
        <button type="button" class="quote" data-reply-to={(m.replyTo as { id: string }).id} onClick={() => { jumpTo((m.replyTo as { id: string }).id) }}>
          <span class="sr-only">Reply to: </span>{target == null ? 'an earlier message' : target.deleted === true ? 'a deleted message' : (target.text as string | undefined) ?? 'an attachment'}
        </button>
      )}
      {deleted
        ? <p class="text tombstone">This message was deleted.</p>
        : <>
          {m.kind === 'attachment' && <Attachments m={m} running={running} />}
          {m.text != null && m.kind !== 'attachment' && <p class="text">{m.text as string}</p>}
          {m.kind === 'call' && <p class="text call-event" data-outcome={(m.call as { outcome?: string } | undefined)?.outcome}>{callText(m.call as Parameters<typeof callText>[0])}</p>}
        </>}
      {reactions.length > 0 && (
        <ul class="reactions" aria-label="Reactions">
          {shown.map(r => {
            const minePick = r.by.some(a => running.isMine(a))
            return (
              <li key={r.emoji}>
                <button type="button" class={minePick ? 'reaction picked' : 'reaction'} aria-pressed={minePick} data-emoji={r.emoji}
                  aria-label={`${r.emoji} ${r.by.length}${minePick ? ', yours: take back' : ''}`} onClick={() => { void react(r.emoji, minePick) }}>
                  {r.emoji} <span class="count">{r.by.length}</span>
                </button>
              </li>
            )
          })}
          {reactions.length > shown.length && <li class="more">+{reactions.length - shown.length} more</li>}
        </ul>
      )}
      <p class="meta">
        <time dateTime={new Date(time).toISOString()}>{formatTime(time)}</time>
        {m.edited === true && !deleted && (
          <details class="edits">
            <summary>edited</summary>
            <ol>{history.map(v => <li key={v.id}><time dateTime={new Date(v.timestamp).toISOString()}>{formatTime(v.timestamp)}</time> {v.text}</li>)}</ol>
          </details>
        )}
        {mine && <span class={`state state-${m.sendState ?? 'none'}`}>{deliveryText(m)}</span>}
        {mine && m.sendState === 'failed' && <button type="button" class="link" onClick={() => { void act(async () => { await running.resend(m.id) }) }}>Resend</button>}
      </p>
      {!deleted && (
        <div class="actions" role="group" aria-label="Message actions">
          <button type="button" class="link" onClick={onReply}>Reply</button>
          <button type="button" class="link" ref={reactButton} aria-expanded={reacting} onClick={() => { if (reacting) closeReacting(); else setReacting(true) }}>React</button>
          {mine && m.kind !== 'attachment' && m.kind !== 'call' && <button type="button" class="link" onClick={onEdit}>Edit</button>}
          {mine && <button type="button" class="link danger" onClick={() => { if (confirm('Delete this message for everyone?')) {
            // Its buttons go with it: focus stays on the message rather than falling back to the page.
            void act(async () => { await running.deleteForEveryone(handle, m.id) }).then(() => { self.current?.focus() })
          } }}>Delete</button>}
        </div>
      )}
      {reacting && (
        <form class="react-form" aria-label="React to this message" onSubmit={(e) => { e.preventDefault(); void react(emoji.trim()).then(closeReacting) }}
          onKeyDown={(e) => {
            if (e.key !== 'Escape') return
            e.preventDefault()
            // The innermost open thing first: the picker (also while it is still loading and has not taken focus), then the form.
            if (picking) { setPicking(false); pickerButton.current?.focus() } else closeReacting()
          }}>
          {QUICK.map(q => <button type="button" key={q} class="quick" aria-label={`React ${q}`} onClick={() => { void react(q).then(closeReacting) }}>{q}</button>)}
          <label class="sr-only" for={`emoji-${m.id}`}>Any emoji</label>
          <input id={`emoji-${m.id}`} ref={emojiInput} class="emoji-input" placeholder="Type an emoji" value={emoji} onInput={(e) => { setEmoji(e.currentTarget.value) }} />
          <button type="submit">Send reaction</button>
          <button type="button" class="secondary" ref={pickerButton} aria-expanded={picking} onClick={() => { setPicking(!picking) }}>All emoji</button>
          {picking && (
            <LazyEmojiPicker label="React with an emoji" onPick={(e) => { void react(e).then(closeReacting) }}
              onClose={() => { setPicking(false); pickerButton.current?.focus() }} />
          )}
        </form>
      )}
    </li>
  )
}

/**
 * A message that renders again only when what it shows changed (the
 * message, its quote, whose it is, or the day, which decides how its time
 * is written). The whole app renders on every change of its state (a
 * call's progress, someone typing, connectivity): diffing every message of
 * the thread each time took 10-18 ms of the tab's thread while a call was
 * being set up (CPU profiles of the call benchmark, 10-20 messages), and a
 * thread renders up to THREAD_WINDOW. The callbacks are left out of the
 * comparison: the thread makes them anew on each render, from the message
 * and state setters that do not change.
 */
export class MessageRow extends Component<Props & { day: string }> {
  override shouldComponentUpdate (next: Props & { day: string }): boolean {
    const p = this.props
    return next.m !== p.m || next.target !== p.target || next.mine !== p.mine || next.running !== p.running || next.handle !== p.handle || next.day !== p.day
  }

  override render () {
    return <MessageItem {...this.props} />
  }
}
