/**
 * The running app: a header (who you are, whether you are connected), the
 * conversation list as navigation, and the main area (a conversation, a
 * safety number, search, settings, or a new conversation). On a phone only
 * one of list and main shows at a time (style.css). Shortcuts (useShortcuts)
 * all take a modifier, so they never take a key a screen reader or a text
 * box needs, except Escape, which leaves a screen the way it closes a dialog.
 */
import { useEffect, useRef } from 'preact/hooks'
import type { StarlingApp } from '../app/lifecycle.js'
import type { AppState } from '../app/state.js'
import { ConversationList } from './ConversationList.js'
import { NewConversation } from './NewConversation.js'
import { SettingsScreen } from './Settings.js'
import { Thread } from './Thread.js'
import { SafetyNumberScreen } from './SafetyNumber.js'
import { SearchScreen } from './Search.js'
import { CallScreen } from './CallScreen.js'
import { backRoute, go, routeHash, useRoute } from './hooks.js'
import type { Route } from './hooks.js'
import { shortName } from './format.js'

/** The conversations in the order the list shows them (requests first). */
function shownOrder (state: AppState): string[] {
  const requests = state.conversations.filter(c => c.state === 'request')
  const chats = state.conversations.filter(c => c.state !== 'request')
  return [...requests, ...chats].map(c => c.handle)
}

/** Whether Escape in `target` belongs to the control (a search box clearing its text). */
function escapeIsLocal (target: EventTarget | null): boolean {
  return target instanceof HTMLInputElement && target.type === 'search' && target.value !== ''
}

/**
 * Keyboard shortcuts of the whole app: Ctrl+K search, Alt+N new chat,
 * Ctrl+, settings, Alt+Up and Alt+Down the previous and next chat, Escape
 * leaves search, settings, a new chat or a safety number for where the
 * user came from. A control that handles a key itself (a dialog's Escape,
 * the composer's) prevents its default, and then nothing happens here.
 */
function useShortcuts (route: Route, state: AppState): void {
  const latest = useRef({ route, state })
  latest.current = { route, state }
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.defaultPrevented) return
      const { route, state } = latest.current
      const key = e.key.toLowerCase()
      const ctrl = (e.ctrlKey || e.metaKey) && !e.altKey
      const alt = e.altKey && !e.ctrlKey && !e.metaKey
      let to: Route | undefined
      if (ctrl && key === 'k') to = { screen: 'search' }
      else if (ctrl && key === ',') to = { screen: 'settings' }
      else if (alt && e.code === 'KeyN') to = { screen: 'new' }
      else if (alt && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
        const order = shownOrder(state)
        if (order.length === 0) return
        const at = route.screen === 'thread' ? order.indexOf(route.handle) : -1
        const next = at === -1 ? (e.key === 'ArrowDown' ? 0 : order.length - 1) : Math.max(0, Math.min(order.length - 1, at + (e.key === 'ArrowDown' ? 1 : -1)))
        to = { screen: 'thread', handle: order[next] }
      } else if (e.key === 'Escape' && !e.ctrlKey && !e.altKey && !e.metaKey && !escapeIsLocal(e.target)) {
        if (route.screen === 'safety') to = { screen: 'thread', handle: route.handle }
        else if (route.screen === 'search' || route.screen === 'settings' || route.screen === 'new') to = backRoute()
      }
      if (to == null) return
      e.preventDefault()
      go(to)
    }
    window.addEventListener('keydown', onKey)
    return () => { window.removeEventListener('keydown', onKey) }
  }, [])
}

/**
 * Moves focus where a keyboard user continues after the screen changed:
 * the composer of a conversation (unless a search result's message takes
 * it), the first box of search and new chat, the list on the list screen,
 * else the main area (so that Tab goes on from the new screen, not from a
 * control that disappeared).
 */
function useFocusOnRoute (route: Route): void {
  const hash = routeHash(route)
  const first = useRef(true)
  useEffect(() => {
    const initial = first.current
    first.current = false
    if (initial && document.activeElement !== document.body && document.activeElement != null) return
    const frame = requestAnimationFrame(() => {
      const pick = (): HTMLElement | null => {
        switch (route.screen) {
          case 'thread': return route.message != null ? null : document.getElementById('compose')
          case 'new': return document.getElementById('new-handle')
          case 'search': return document.getElementById('search-query')
          case 'list': return document.querySelector<HTMLElement>('.conversations a') ?? document.getElementById('new-chat')
          case 'safety':
          case 'settings': return document.getElementById('main')
        }
      }
      const target = pick() ?? (route.screen === 'thread' && route.message != null ? null : document.getElementById('main'))
      target?.focus()
    })
    return () => { cancelAnimationFrame(frame) }
  }, [hash])
}

export function Shell ({ app, state }: { app: StarlingApp, state: AppState }) {
  const route = useRoute()
  useShortcuts(route, state)
  useFocusOnRoute(route)
  const running = app.running
  if (running == null) return null
  const c = state.connectivity
  const status = c.reserved > 0 ? 'Connected' : c.relays > 0 ? 'Connecting…' : 'Offline: messages wait in the outbox'
  return (
    <div class={`shell screen-${route.screen}`}>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <h1 class="brand"><a href="#/">Starling</a></h1>
        <p class="me" title={state.me?.fingerprint}>{state.me != null ? shortName(state.me.handle) : ''}<span class="tag">{state.me != null ? `~${state.me.tag}` : ''}</span></p>
        <p class={`status status-${c.reserved > 0 ? 'ok' : 'off'}`} role="status" data-connectivity={c.reserved > 0 ? 'ready' : 'waiting'}>{status}</p>
        <nav aria-label="App">
          <a href="#/search" aria-keyshortcuts="Control+K" title="Search (Ctrl+K)" aria-current={route.screen === 'search' ? 'page' : undefined}>Search</a>
          <a href="#/settings" aria-keyshortcuts="Control+Comma" title="Settings (Ctrl+,)" aria-current={route.screen === 'settings' ? 'page' : undefined}>Settings</a>
        </nav>
      </header>
      <nav class="sidebar" aria-label="Conversations">
        <div class="sidebar-head">
          <h2>Chats</h2>
          <button type="button" id="new-chat" aria-keyshortcuts="Alt+N" title="New chat (Alt+N)" onClick={() => { go({ screen: 'new' }) }}>New chat</button>
        </div>
        <ConversationList conversations={state.conversations} current={route.screen === 'thread' || route.screen === 'safety' ? route.handle : undefined} muted={state.settings?.muted ?? []} />
      </nav>
      {route.screen === 'thread' && <Thread app={app} running={running} state={state} handle={route.handle} message={route.message} />}
      {route.screen === 'safety' && <SafetyNumberScreen app={app} running={running} state={state} handle={route.handle} />}
      {route.screen === 'search' && <SearchScreen running={running} />}
      {route.screen === 'settings' && <SettingsScreen app={app} running={running} state={state} />}
      {route.screen === 'new' && <NewConversation running={running} state={state} />}
      {route.screen === 'list' && (
        <main id="main" class="main empty" tabIndex={-1}>
          <p>Choose a chat, or start a new one with someone's handle.</p>
        </main>
      )}
      {state.error != null && <p class="toast error" role="alert">{state.error}</p>}
      {state.call != null && running.calls != null && <CallScreen key={state.call.id} calls={running.calls} view={state.call} />}
    </div>
  )
}
