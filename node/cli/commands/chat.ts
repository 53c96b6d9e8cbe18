/**
 * `starling chat HANDLE`: a conversation screen in the terminal. It shows the
 * last messages numbered #1, #2, ... (numbers stay fixed while the chat is
 * open), then prints what arrives as it arrives from the daemon's event
 * stream, marks incoming messages read, shows the other side typing and
 * tells them when we type. Everything goes through the daemon's local API:
 * the daemon's history is the truth, the screen only shows what changed.
 */
import { clearLine, cursorTo, createInterface } from 'node:readline'
import type { Interface } from 'node:readline'
import { userDataDir } from '../../data-dir.js'
import { ApiClient } from '../../api/client.js'
import { YES_HELP, handleArg, requestMark, withFirstContactHint } from './messages.js'
import type { HistoryMessage } from './messages.js'
import { bodyText, earlierVersions, sendStateText } from '../message-format.js'
import type { Command } from '../command.js'
import { visible } from '../terminal-text.js'

/** Messages shown when the chat opens. */
const CHAT_INITIAL_MESSAGES = 20
/** Extra messages fetched on each refresh beyond the ones on screen (new arrivals). */
const REFRESH_SLACK = 100
/** A typing indicator is sent again after this long while the user keeps typing. */
const TYPING_RESEND_MS = 4_000
/** No key for this long: we tell the other side we stopped typing. */
const TYPING_IDLE_MS = 5_000
/** The other side's indicator is forgotten after this long without news. */
const TYPING_SHOWN_MS = 10_000
/** A second look at the history shortly after opening, for events sent before the stream was attached. */
const SETTLE_REFRESH_MS = 1_000

type ChatMessage = HistoryMessage

interface HistoryResult { handle: string, account: string, self?: boolean, messages: ChatMessage[] }

const HELP = [
  'type a line and press Enter to send it; commands:',
  '  /reply N TEXT     reply to message #N',
  '  /react N EMOJI    react to #N (e.g. /react 3 👍)',
  '  /unreact N EMOJI  take a reaction back',
  '  /edit N TEXT      edit your message #N',
  '  /delete N         delete your message #N for everyone',
  '  /history          show the conversation again',
  '  /help             this list',
  '  /quit             leave (or Ctrl-D, Ctrl-C)'
]

/** The open conversation: numbering, what is on screen, input and events. */
class ChatSession {
  private readonly numbers = new Map<string, number>()
  private readonly ids: string[] = []
  private readonly shown = new Map<string, { content: string, state: string }>()
  private readonly latest = new Map<string, ChatMessage>()
  private refreshWanted = false
  private refreshing?: Promise<void>
  private inputs: Promise<void> = Promise.resolve()
  private typingSentAt = 0
  private typingIdle?: NodeJS.Timeout
  private peerTyping?: NodeJS.Timeout
  private closed = false
  private readonly rl: Interface
  private readonly tty: boolean
  private readonly events = new AbortController()
  readonly done: Promise<number>
  private finish: (code: number) => void = () => {}

  constructor (private readonly client: ApiClient, private readonly h: HistoryResult, private readonly me: string) {
    this.tty = process.stdin.isTTY && process.stdout.isTTY
    this.rl = createInterface({ input: process.stdin, output: process.stdout, terminal: this.tty, prompt: 'you> ' })
    this.done = new Promise(resolve => { this.finish = resolve })
  }

  private get peerName (): string {
    return this.h.handle.split('~')[0]
  }

  /** Shows the history, attaches to events and input; `done` resolves with the exit code. */
  start (): void {
    this.print([this.h.self === true
      ? `Note to Self (${this.h.handle}): kept on this device, sent to nobody (/help for commands)`
      : `conversation with ${this.h.handle} as ${this.me} (/help for commands)`])
    this.absorb(this.h.messages, false)
    this.printAll()
    this.markRead()
    this.rl.on('line', line => { this.inputs = this.inputs.then(async () => this.input(line)) })
    this.rl.on('SIGINT', () => this.close(0))
    this.rl.on('close', () => this.close(0))
    if (this.tty) process.stdin.on('keypress', () => this.keypress())
    this.followEvents().catch(() => {})
    setTimeout(() => this.refresh(), SETTLE_REFRESH_MS).unref()
  }

  close (code: number): void {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.typingIdle)
    clearTimeout(this.peerTyping)
    this.events.abort()
    this.rl.close()
    const stopTyping = this.typingSentAt > 0 ? this.call('typing', { on: false }).catch(() => {}) : Promise.resolve()
    stopTyping.finally(() => this.finish(code)).catch(() => {})
  }

  /**
   * Writes lines above the input line, then redraws the prompt with what the
   * user typed so far. Lines carry peers' text: shown through {@link visible}.
   */
  private print (lines: string[]): void {
    if (this.tty) {
      clearLine(process.stdout, 0)
      cursorTo(process.stdout, 0)
    }
    for (const line of lines) process.stdout.write(visible(line) + '\n')
    if (this.tty && !this.closed) this.rl.prompt(true)
  }

  private async call<T> (method: string, params: Record<string, unknown> = {}): Promise<T> {
    return this.client.call<T>(method, { handle: this.h.handle, ...params })
  }

  private async followEvents (): Promise<void> {
    try {
      for await (const e of this.client.events(this.events.signal)) this.onEvent(e)
      if (!this.closed) this.print(['the daemon stopped'])
    } catch (err) {
      if (this.closed) return
      this.print([`lost the daemon: ${(err as Error).message}`])
    }
    this.close(1)
  }

  private onEvent (e: Record<string, unknown>): void {
    const mine = e.conversation === this.h.account || e.handle === this.h.handle
    switch (e.type) {
      case 'message':
        if (mine) {
          if (e.direction === 'in' && e.kind !== 'read' && e.kind !== 'delivered') this.stopPeerTyping()
          this.refresh()
        } else if (e.direction === 'in' && typeof e.text === 'string') {
          this.print([`(new message from ${String(e.handle)}${requestMark(e)})`])
        }
        return
      case 'status':
        if (mine || this.numbers.has(String(e.id))) this.refresh()
        return
      case 'typing':
        if (e.handle === this.h.handle) this.peerTypingChanged(e.on === true)
        return
      case 'key-change':
        if (mine) this.print([`⚠ safety warning: ${String(e.what)} (compare: starling safety-number ${this.h.handle}; accept: starling trust ${this.h.handle})`])
    }
  }

  private peerTypingChanged (on: boolean): void {
    const wasShown = this.peerTyping != null
    this.stopPeerTyping()
    if (!on) {
      // The indicator is a printed line: say it ended (they cleared their line or went idle).
      if (wasShown) this.print([`  ${this.peerName} stopped typing`])
      return
    }
    if (!wasShown) this.print([`  ${this.peerName} is typing…`])
    this.peerTyping = setTimeout(() => { this.peerTyping = undefined }, TYPING_SHOWN_MS)
  }

  private stopPeerTyping (): void {
    clearTimeout(this.peerTyping)
    this.peerTyping = undefined
  }

  /** Asks for the history again (coalesced: at most one request in flight, one more queued). */
  private refresh (): void {
    this.refreshWanted = true
    if (this.refreshing != null || this.closed) return
    this.refreshing = (async () => {
      while (this.refreshWanted && !this.closed) {
        this.refreshWanted = false
        try {
          const h = await this.call<HistoryResult>('history', { limit: this.ids.length + REFRESH_SLACK })
          this.absorb(h.messages, true)
        } catch (err) {
          this.print([`! ${(err as Error).message}`])
        }
      }
    })().finally(() => { this.refreshing = undefined })
  }

  /** Numbers new messages and prints what is new or changed (when `announce`). */
  private absorb (messages: ChatMessage[], announce: boolean): void {
    const firstKnown = this.ids.length > 0 ? messages.findIndex(m => m.id === this.ids[0]) : -1
    const out: string[] = []
    let incoming = false
    messages.forEach((m, i) => {
      const known = this.numbers.has(m.id)
      if (!known && i < firstKnown) return // older than the screen: not shown
      if (!known) {
        this.ids.push(m.id)
        this.numbers.set(m.id, this.ids.length)
        if (m.author.account === this.h.account) incoming = true
      }
      this.latest.set(m.id, m)
      const now = { content: this.content(m), state: this.state(m) }
      const before = this.shown.get(m.id)
      this.shown.set(m.id, now)
      if (!announce) return
      if (before == null || before.content !== now.content) out.push(this.line(m))
      else if (before.state !== now.state) out.push(`${stateMark(now.state)} ${now.state} #${this.numbers.get(m.id)}`)
    })
    if (out.length > 0) this.print(out)
    if (incoming && announce) this.markRead()
  }

  private printAll (): void {
    const lines = this.ids.map(id => this.latest.get(id)).filter(m => m != null).map(m => this.line(m))
    this.print(lines.length > 0 ? lines : ['(no messages yet)'])
  }

  private markRead (): void {
    this.call('read').catch((err: unknown) => { this.print([`! could not mark read: ${(err as Error).message}`]) })
  }

  private ref (id: string): string {
    const n = this.numbers.get(id)
    return n != null ? `#${n}` : id.slice(0, 8)
  }

  private content (m: ChatMessage): string {
    const who = m.author.account === this.h.account && this.h.self !== true ? this.peerName : 'you'
    const time = new Date(m.timestamp).toTimeString().slice(0, 5)
    const reply = m.replyTo != null ? ` ↪ ${this.ref(m.replyTo.id)}` : ''
    const reactions = m.reactions.length > 0 ? '  ' + m.reactions.map(r => `${r.emoji}${r.by.length > 1 ? r.by.length : ''}`).join(' ') : ''
    const was = earlierVersions(m).map(text => `  (was: ${text})`).join('')
    return `#${this.numbers.get(m.id)} ${time} ${who}:${reply} ${bodyText(m, who === 'you')}${m.edited && !m.deleted ? ' (edited)' : ''}${was}${reactions}`
  }

  private state (m: ChatMessage): string {
    if (m.author.account === this.h.account) return ''
    return sendStateText(m)
  }

  private line (m: ChatMessage): string {
    const state = this.state(m)
    return this.content(m) + (state !== '' ? `  [${state}]` : '')
  }

  private keypress (): void {
    if (this.closed) return
    clearTimeout(this.typingIdle)
    if (this.rl.line === '') {
      this.stopTyping()
      return
    }
    if (Date.now() - this.typingSentAt > TYPING_RESEND_MS) {
      this.typingSentAt = Date.now()
      this.call('typing', { on: true }).catch(() => {})
    }
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS)
  }

  private stopTyping (): void {
    clearTimeout(this.typingIdle)
    if (this.typingSentAt === 0) return
    this.typingSentAt = 0
    this.call('typing', { on: false }).catch(() => {})
  }

  private async input (raw: string): Promise<void> {
    const line = raw.trim()
    if (this.closed) return
    if (line === '') {
      if (this.tty) this.rl.prompt()
      return
    }
    try {
      await this.command(line)
    } catch (err) {
      this.print([`! ${(err as Error).message}`])
    }
  }

  private async command (line: string): Promise<void> {
    if (!line.startsWith('/') || line.startsWith('//')) {
      this.stopTyping()
      await this.call('send', { text: line.startsWith('//') ? line.slice(1) : line })
      return
    }
    const [, name, rest] = /^\/(\S+)\s*(.*)$/s.exec(line) ?? ['', '', '']
    switch (name) {
      case 'reply': {
        const [id, text] = this.target(rest, 'TEXT')
        this.stopTyping()
        await this.call('send', { text, replyTo: id })
        return
      }
      case 'react':
      case 'unreact': {
        const [id, emoji] = this.target(rest, 'EMOJI')
        await this.call('react', { id, emoji, remove: name === 'unreact' })
        return
      }
      case 'edit': {
        const [id, text] = this.target(rest, 'TEXT')
        await this.call('edit', { id, text })
        return
      }
      case 'delete': {
        const [id] = this.target(rest, '')
        await this.call('delete', { id })
        return
      }
      case 'history':
        this.printAll()
        return
      case 'help':
        this.print(HELP)
        return
      case 'quit':
      case 'exit':
        this.close(0)
        return
      default:
        this.print([`! unknown command /${name} (/help lists them; start a line with // to send a slash)`])
    }
  }

  /** Parses `N REST` (N may be written #N): the message id of #N and the rest. */
  private target (args: string, restName: string): [string, string] {
    const m = /^#?(\d+)(?:\s+(.*))?$/s.exec(args.trim())
    const rest = m?.[2]?.trim() ?? ''
    if (m == null || (restName !== '' && rest === '')) throw new Error(`expected N${restName !== '' ? ` ${restName}` : ''} (see /help)`)
    const id = this.ids[Number(m[1]) - 1]
    if (id == null) throw new Error(`no message #${m[1]} (messages are #1 to #${this.ids.length})`)
    return [id, rest]
  }
}

function stateMark (state: string): string {
  if (state === 'delivered' || state === 'read') return '✓'
  if (state === 'failed') return '✗'
  return '…'
}

export const chatCommand: Command = {
  name: 'chat',
  summary: 'open a conversation: numbered messages, live updates, reply/react/edit/delete by number',
  usage: 'starling chat HANDLE [--yes] [--data DIR]',
  examples: ['starling chat bob', 'starling chat bob~x3k9q2mf7a --data ~/.starling-work', 'starling chat carol --yes'],
  options: { data: { type: 'string' }, yes: { type: 'boolean', short: 'y' } },
  help: { data: 'data directory of the daemon to ask (default $STARLING_DATA or ~/.starling)', yes: YES_HELP },
  positionals: [{ name: 'HANDLE', required: true }],
  async run ({ args, stopped }) {
    const client = await ApiClient.connect(userDataDir(args.values.data as string | undefined))
    // A bare name that is not a contact yet: refused, or pinned with --yes; then its name~tag is used.
    const { handle } = await withFirstContactHint(client.call<{ handle: string }>('open', { handle: handleArg('chat', args.positionals[0]), confirm: args.values.yes === true }), 'chat')
    const h = await client.call<HistoryResult>('history', { handle, limit: CHAT_INITIAL_MESSAGES })
    // Who types here: a chat without --data acts as the default profile.
    const me = await client.call<{ handle: string }>('whoami')
    const session = new ChatSession(client, h, me.handle)
    stopped.then(() => session.close(0)).catch(() => {})
    session.start()
    return session.done
  }
}
