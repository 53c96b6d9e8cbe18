/**
 * The app's state as one immutable value, replaced on every change, and
 * the listeners (Preact components, through ui/hooks.ts) told when it is.
 */
import type { ConversationSummary, HistoryView, WhoAmI } from '../../../src/peer/index.js'
import type { Settings } from './settings.js'
import type { CallView } from './calls.js'

/** Where the app is in its life. */
export type Phase =
  | 'loading'
  /** Another tab runs this profile's node. */
  | 'elsewhere'
  /** No identity yet: create one or import a backup. */
  | 'setup'
  /** The key file is encrypted: the passphrase is needed. */
  | 'locked'
  | 'starting'
  | 'running'
  | 'error'

/** A first contact waiting for the user to confirm who a bare name resolved to. */
export interface PendingConfirmation {
  query: string
  handle: string
  fingerprint: string
}

/** How the node is connected. */
export interface Connectivity {
  /** Open connections to relays. */
  relays: number
  /** Relays on which a reservation is held (others can reach us through them). */
  reserved: number
}

/** Everything the screens show. */
export interface AppState {
  phase: Phase
  profile: string
  /** The last error to show (a clear sentence). */
  error?: string
  me?: WhoAmI & { account: string }
  conversations: ConversationSummary[]
  /** The conversation shown, by handle, and its history. */
  thread?: HistoryView
  /** Handles that are typing now. */
  typing: string[]
  connectivity: Connectivity
  settings?: Settings
  confirm?: PendingConfirmation
  /** Whether the browser agreed to keep this origin's storage. */
  persisted?: boolean
  /** The call shown (ringing, under way, or just ended). */
  call?: CallView
}

type Listener = (state: AppState) => void

/** The state and who listens to it. */
export class StateBox {
  private value: AppState
  private readonly listeners = new Set<Listener>()

  constructor (initial: AppState) {
    this.value = initial
  }

  get (): AppState {
    return this.value
  }

  /** Replaces the fields given and tells every listener. */
  set (patch: Partial<AppState>): void {
    this.value = { ...this.value, ...patch }
    for (const l of this.listeners) l(this.value)
  }

  subscribe (listener: Listener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }
}
