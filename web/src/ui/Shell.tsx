/**
 * The running app: a header (who you are, whether you are connected), the
 * conversation list as navigation, and the main area (a conversation, a
 * safety number, search, settings, or a new conversation). On a phone only
 * one of list and main shows at a time (style.css). Shortcuts: Ctrl+K
 * search, Alt+N new chat (with a modifier, so they never take a key a
 * screen reader or a text box needs).
 */
import { useEffect } from 'preact/hooks'
import type { StarlingApp } from '../app/lifecycle.js'
import type { AppState } from '../app/state.js'
import { ConversationList } from './ConversationList.js'
import { NewConversation } from './NewConversation.js'
import { SettingsScreen } from './Settings.js'
import { Thread } from './Thread.js'
import { SafetyNumberScreen } from './SafetyNumber.js'
import { SearchScreen } from './Search.js'
import { go, useRoute } from './hooks.js'
import { shortName } from './format.js'

/** Keyboard shortcuts of the whole app. */
function useShortcuts (): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'k') {
        e.preventDefault()
        go({ screen: 'search' })
      } else if (e.altKey && !e.ctrlKey && !e.metaKey && e.code === 'KeyN') {
        e.preventDefault()
        go({ screen: 'new' })
      }
    }
    window.addEventListener('keydown', onKey)
    return () => { window.removeEventListener('keydown', onKey) }
  }, [])
}

export function Shell ({ app, state }: { app: StarlingApp, state: AppState }) {
  const route = useRoute()
  useShortcuts()
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
          <a href="#/settings" aria-current={route.screen === 'settings' ? 'page' : undefined}>Settings</a>
        </nav>
      </header>
      <nav class="sidebar" aria-label="Conversations">
        <div class="sidebar-head">
          <h2>Chats</h2>
          <button type="button" aria-keyshortcuts="Alt+N" title="New chat (Alt+N)" onClick={() => { go({ screen: 'new' }) }}>New chat</button>
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
    </div>
  )
}
