/**
 * The app's core, under the screens: runs this profile's peer (src/peer,
 * assembled from web/src/platform's pieces) in the tab that holds the
 * profile's lock, keeps the state the screens show (state.ts) up to date
 * from the messenger's events, and offers what the screens do. Lifecycle
 * (boot, identity, lock) is in lifecycle.ts; this file is the running part.
 */
import type { StarlingPeer } from '../../../src/peer/index.js'
import { acceptContact, blockContact, conversationsView, historyView, safetyNumberView, sendFiles, trustContact } from '../../../src/peer/index.js'
import type { SafetyNumberView } from '../../../src/peer/index.js'
import { fromHex } from '../../../src/messenger/bytes.js'
import { validateReactionEmoji, validateText } from '../../../src/messenger/model/index.js'
import type { MessengerEvent } from '../../../src/messenger/index.js'
import { routingTableSize } from '../../../src/net/node.js'
import type { BrowserCallMedia, OpfsBlobStore } from '../platform/platform.js'
import { TabCalls } from './calls.js'
import { attachmentFromFile } from './files.js'
import { IMAGE_HEAD_BYTES, safeToShow } from './image-size.js'
import { notifyHidden } from './notify.js'
import { searchHistory } from './search.js'
import type { SearchHit } from './search.js'
import type { AppState, StateBox } from './state.js'
import type { Settings } from './settings.js'

/** How long a typing indicator shows without being renewed. */
const TYPING_SHOWN_MS = 6_000
/** How often connectivity is looked at besides the node's own events. */
const CONNECTIVITY_CHECK_MS = 2_000
/** Events that come close together cause one refresh. */
const REFRESH_DELAY_MS = 30

/** MIME types a received image may be shown inline as. */
const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif'])
/** MIME types a received audio attachment may be played as. */
const INLINE_AUDIO_TYPES = new Set(['audio/ogg', 'audio/mpeg', 'audio/mp4', 'audio/wav', 'audio/webm'])

/** A complete attachment as the thread shows it: a URL, and whether it may be shown inline (else it is only saved). */
export interface AttachmentUrl { url: string, inline: boolean }

/** The running part of the app: one peer, its events, and the actions on it. */
export class RunningPeer {
  private readonly offs: Array<() => void> = []
  private readonly typingTimers = new Map<string, ReturnType<typeof setTimeout>>()
  private readonly blobUrls = new Map<string, AttachmentUrl>()
  private refreshTimer?: ReturnType<typeof setTimeout>
  private connectivityTimer?: ReturnType<typeof setInterval>
  private readyMarked = false
  /** The thread the screens show (a fresh object each time one is opened), or none. */
  private opened?: { handle: string }
  /** Reads of the list and thread begun so far, and the newest one shown: reads that overlap may end in any order. */
  private reads = 0
  private shownRead = 0
  private readonly myAccount: string
  /** Calls, when the browser has WebRTC. */
  readonly calls?: TabCalls

  constructor (readonly peer: StarlingPeer<OpfsBlobStore>, private readonly state: StateBox, private readonly settings: () => Settings, private readonly navigate: (handle: string) => void, media?: BrowserCallMedia) {
    this.myAccount = [...peer.identity.accountPublicKey].map(b => b.toString(16).padStart(2, '0')).join('')
    if (peer.calls != null && media != null) this.calls = new TabCalls(peer.calls, media, state, navigate, () => settings().notifications)
  }

  /** Starts the peer and follows its events. */
  async start (): Promise<void> {
    const { messenger, node } = this.peer
    for (const type of ['message', 'status', 'attachment', 'key-change'] as const) {
      this.offs.push(messenger.on(type, (e) => { this.onEvent(e) }))
    }
    this.offs.push(messenger.on('typing', (e) => { this.onTyping(e.handle, e.on) }))
    const connectivity = (): void => { this.updateConnectivity() }
    for (const type of ['peer:connect', 'peer:disconnect', 'self:peer:update', 'transport:listening'] as const) {
      node.addEventListener(type, connectivity)
      this.offs.push(() => { node.removeEventListener(type, connectivity) })
    }
    // Resolving a handle needs a DHT server in the routing table (kad-dht keeps it off its public interface).
    const table = (node.services.dht as unknown as { routingTable?: EventTarget }).routingTable
    if (table != null) {
      table.addEventListener('peer:add', connectivity)
      this.offs.push(() => { table.removeEventListener('peer:add', connectivity) })
    }
    this.calls?.start()
    await this.peer.start()
    this.connectivityTimer = setInterval(connectivity, CONNECTIVITY_CHECK_MS)
    this.state.set({ me: { ...this.peer.whoami(), account: this.myAccount } })
    this.updateConnectivity()
    await this.refresh()
  }

  /** Stops following and stops the peer. */
  async stop (): Promise<void> {
    for (const off of this.offs.splice(0)) off()
    this.calls?.stop()
    clearInterval(this.connectivityTimer)
    clearTimeout(this.refreshTimer)
    for (const t of this.typingTimers.values()) clearTimeout(t)
    for (const { url } of this.blobUrls.values()) URL.revokeObjectURL(url)
    this.blobUrls.clear()
    await this.peer.stop()
  }

  private onEvent (e: MessengerEvent): void {
    if (e.type === 'message' && e.direction === 'in') {
      this.onTyping(e.handle, false)
      const settings = this.settings()
      // A muted conversation still counts unread and shows in the list, with no notification.
      if (settings.notifications && !settings.muted.includes(e.conversation)) notifyHidden(e.request ? `Message request from ${e.handle}` : e.handle, e.text ?? 'New message', () => { this.navigate(e.handle) })
    }
    this.refreshSoon()
  }

  private onTyping (handle: string, on: boolean): void {
    clearTimeout(this.typingTimers.get(handle))
    this.typingTimers.delete(handle)
    const others = this.state.get().typing.filter(h => h !== handle)
    if (on) this.typingTimers.set(handle, setTimeout(() => { this.onTyping(handle, false) }, TYPING_SHOWN_MS))
    this.state.set({ typing: on ? [...others, handle] : others })
  }

  /**
   * Relays connected and reservations held; marks the page ready the first
   * time a reservation is held and a DHT server is known (reachable, and
   * able to resolve a handle and send).
   */
  private updateConnectivity (): void {
    const relays = new Set(this.peer.reservations.status().map(r => r.relay.split('/p2p/').at(-1)))
    const connected = new Set(this.peer.node.getConnections().filter(c => relays.has(c.remotePeer.toString())).map(c => c.remotePeer.toString()))
    const reserved = this.peer.reservations.status().filter(r => r.reserved).length
    const now = this.state.get().connectivity
    if (now.relays !== connected.size || now.reserved !== reserved) this.state.set({ connectivity: { relays: connected.size, reserved } })
    if (reserved > 0 && routingTableSize(this.peer.node) > 0 && !this.readyMarked) {
      this.readyMarked = true
      performance.mark('starling-ready')
      document.documentElement.dataset.ready = 'true'
    }
  }

  /** Refreshes the conversation list and the open thread soon (events often come in bursts). */
  refreshSoon (): void {
    clearTimeout(this.refreshTimer)
    this.refreshTimer = setTimeout(() => { this.refresh().catch((err: Error) => { this.state.set({ error: err.message }) }) }, REFRESH_DELAY_MS)
  }

  /**
   * Reads the conversation list and the open thread again; marks what the
   * user sees read. The thread is read for the conversation open when it
   * starts and shown only if that one is still open when it is read: a
   * refresh that began before another thread was opened (or this one
   * closed) never puts its old thread back.
   */
  async refresh (): Promise<void> {
    const { messenger } = this.peer
    const read = ++this.reads
    const opened = this.opened
    let conversations = await conversationsView(messenger)
    if (opened == null) {
      this.show(read, { conversations })
      return
    }
    const thread = await historyView(messenger, opened.handle)
    if (this.opened !== opened) {
      this.show(read, { conversations })
      return
    }
    const summary = conversations.find(c => c.account === thread.account)
    let refused: string | undefined
    if (summary != null && summary.unread > 0 && summary.state === 'accepted' && document.visibilityState === 'visible') {
      try {
        await messenger.markRead(thread.handle, { receipt: this.settings().readReceipts })
        conversations = conversations.map(c => c === summary ? { ...c, unread: 0 } : c)
      } catch (err) {
        // Refused (the contact's keys changed: nothing goes to it until the
        // user trusts them): the messages stay unread, and what came in is
        // shown all the same; before, no refresh showed anything any more.
        refused = (err as Error).message
      }
    }
    this.show(read, { conversations, ...(this.opened === opened ? { thread } : {}), ...(refused != null ? { error: refused } : {}) })
  }

  /**
   * Shows what read number `read` found, unless a read begun after it was
   * shown already: during a flood a slow read could end after a newer one
   * and put back fewer messages, for good once the flood stopped.
   */
  private show (read: number, patch: Partial<AppState>): void {
    if (read < this.shownRead) return
    this.shownRead = read
    this.state.set(patch)
  }

  /** Shows the conversation with `handle`. */
  async openThread (handle: string): Promise<void> {
    const opened = { handle }
    this.opened = opened
    const read = ++this.reads
    const thread = await historyView(this.peer.messenger, handle)
    if (this.opened !== opened) return
    this.show(read, { thread })
    await this.refresh()
  }

  closeThread (): void {
    this.opened = undefined
    this.state.set({ thread: undefined })
  }

  /**
   * Starts a conversation by handle: a contact or `name~tag` opens at once;
   * a bare name nobody was pinned for is resolved and waits for the user to
   * confirm the `name~tag` and fingerprint (state.confirm). Resolves with
   * the handle to show, or undefined while confirmation is pending.
   */
  async startConversation (query: string): Promise<string | undefined> {
    try {
      const { handle } = await this.peer.messenger.open(query.trim())
      return handle
    } catch (err) {
      if ((err as Error).name !== 'UnconfirmedHandleError') throw err
      const e = err as Error & { handle: string, fingerprint: string }
      this.state.set({ confirm: { query: query.trim(), handle: e.handle, fingerprint: e.fingerprint } })
      return undefined
    }
  }

  /** The user confirmed the pending first contact: it is pinned. Resolves with its handle. */
  async confirmContact (): Promise<string> {
    const pending = this.state.get().confirm
    if (pending == null) throw new Error('nothing to confirm')
    try {
      await this.peer.messenger.open(pending.query, { confirm: true, expect: pending.handle })
    } catch (err) {
      // The name resolves to someone else now: that one is shown to confirm, nothing was pinned.
      if ((err as Error).name === 'UnconfirmedHandleError') {
        const e = err as Error & { handle: string, fingerprint: string }
        this.state.set({ confirm: { query: pending.query, handle: e.handle, fingerprint: e.fingerprint } })
      }
      throw err
    }
    this.state.set({ confirm: undefined })
    await this.refresh()
    return pending.handle
  }

  cancelConfirmation (): void {
    this.state.set({ confirm: undefined })
  }

  async sendText (handle: string, text: string, replyTo?: string): Promise<string> {
    const body = validateText(text)
    const result = replyTo != null
      ? await this.peer.messenger.send(handle, { kind: 'reply', target: fromHex(replyTo), text: body })
      : await this.peer.messenger.send(handle, { kind: 'text', text: body })
    this.refreshSoon()
    return result.id
  }

  async react (handle: string, id: string, emoji: string, remove = false): Promise<void> {
    await this.peer.messenger.send(handle, { kind: 'reaction', target: fromHex(id), emoji: validateReactionEmoji(emoji), action: remove ? 'remove' : 'add' })
    this.refreshSoon()
  }

  async edit (handle: string, id: string, text: string): Promise<void> {
    await this.peer.messenger.send(handle, { kind: 'edit', target: fromHex(id), text: validateText(text) })
    this.refreshSoon()
  }

  async deleteForEveryone (handle: string, id: string): Promise<void> {
    await this.peer.messenger.send(handle, { kind: 'delete', target: fromHex(id) })
    this.refreshSoon()
  }

  async resend (id: string): Promise<void> {
    await this.peer.messenger.resend(fromHex(id))
    this.refreshSoon()
  }

  async sendFiles (handle: string, files: File[], caption?: string): Promise<void> {
    await sendFiles(this.peer.messenger, handle, files.map(attachmentFromFile), caption != null && caption !== '' ? validateText(caption) : undefined)
    this.refreshSoon()
  }

  /**
   * Tells the contact we are typing (best effort: nothing is stored, a
   * failure is no error); nothing at all when the user turned typing
   * indicators off.
   */
  typing (handle: string, on: boolean): void {
    if (!this.settings().typingIndicators) return
    this.peer.messenger.typing(handle, on).catch(() => {})
  }

  async accept (handle: string): Promise<void> {
    await acceptContact(this.peer.messenger, handle)
    await this.refresh()
  }

  async block (handle: string): Promise<void> {
    await blockContact(this.peer.messenger, handle)
    await this.refresh()
  }

  async trust (handle: string): Promise<void> {
    await trustContact(this.peer.messenger, handle)
    await this.refresh()
  }

  /** The safety number of this account and `handle`'s, with its QR payload. */
  async safetyNumber (handle: string): Promise<SafetyNumberView> {
    return await safetyNumberView(this.peer.messenger, this.peer.crypto, handle)
  }

  /** Messages of every conversation whose text contains `query` (searched here, nothing leaves the tab). */
  async search (query: string): Promise<SearchHit[]> {
    return await searchHistory(this.peer.messenger, this.state.get().conversations, query)
  }

  /** Asks for a received attachment again now (after a wait, or a request accepted). */
  async download (id: string): Promise<void> {
    await this.peer.messenger.attachments?.download(fromHex(id))
    this.refreshSoon()
  }

  /**
   * A URL for a complete attachment. Images of a few types whose header
   * states a size within the budget (image-size.ts: a decompression bomb
   * is not decoded on screen) and audio of a few types keep their type and
   * are shown inline; anything else is served as bytes to save, never as a
   * page of this origin.
   */
  async attachmentUrl (id: string, mimeType: string, kind: string): Promise<AttachmentUrl> {
    const known = this.blobUrls.get(id)
    if (known != null) return known
    const bytes = await this.peer.blobs.blob(fromHex(id), 'application/octet-stream')
    let inline = false
    if ((kind === 'image' || kind === 'gif') && INLINE_IMAGE_TYPES.has(mimeType)) {
      inline = safeToShow(new Uint8Array(await bytes.slice(0, IMAGE_HEAD_BYTES).arrayBuffer()))
    } else if (kind === 'audio') {
      inline = INLINE_AUDIO_TYPES.has(mimeType)
    }
    const shown = { url: URL.createObjectURL(inline ? bytes.slice(0, bytes.size, mimeType) : bytes), inline }
    this.blobUrls.set(id, shown)
    return shown
  }

  /** An encrypted backup of identity, contacts, history and files, as a file to save (built from pieces, which the browser may keep on disk). */
  async exportBackup (passphrase: string): Promise<Blob> {
    const parts: Blob[] = []
    for await (const piece of (await this.peer.backup(passphrase)).pieces) parts.push(new Blob([piece as Uint8Array<ArrayBuffer>]))
    return new Blob(parts, { type: 'application/octet-stream' })
  }

  /** Whether `account` (hex) is this account. */
  isMine (account: string): boolean {
    return account === this.myAccount
  }
}
