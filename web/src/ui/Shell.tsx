/**
 * The running app: a header (who you are, whether you are connected), the
 * conversation list as navigation, and the main area (a conversation,
 * settings, or a new conversation). On a phone only one of list and main
 * shows at a time (style.css).
 */
import type { StarlingApp } from '../app/lifecycle.js'
import type { AppState } from '../app/state.js'
import { ConversationList } from './ConversationList.js'
import { NewConversation } from './NewConversation.js'
import { SettingsScreen } from './Settings.js'
import { Thread } from './Thread.js'
import { go, useRoute } from './hooks.js'
import { shortName } from './format.js'

export function Shell ({ app, state }: { app: StarlingApp, state: AppState }) {
  const route = useRoute()
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
          <a href="#/settings" aria-current={route.screen === 'settings' ? 'page' : undefined}>Settings</a>
        </nav>
      </header>
      <nav class="sidebar" aria-label="Conversations">
        <div class="sidebar-head">
          <h2>Chats</h2>
          <button type="button" onClick={() => { go({ screen: 'new' }) }}>New chat</button>
        </div>
        <ConversationList conversations={state.conversations} current={route.screen === 'thread' ? route.handle : undefined} />
      </nav>
      {route.screen === 'thread' && <Thread app={app} running={running} state={state} handle={route.handle} />}
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
