/** Preact hooks over the app: its state, and the route in the URL's hash. */
import { useEffect, useState } from 'preact/hooks'
import type { StarlingApp } from '../app/lifecycle.js'
import type { AppState } from '../app/state.js'

/** The app's state; re-renders on every change. */
export function useAppState (app: StarlingApp): AppState {
  const [state, setState] = useState(app.state.get())
  useEffect(() => app.state.subscribe(setState), [app])
  return state
}

/**
 * Where the user is: the list, a conversation (by handle), a contact's
 * safety number, settings, starting a new conversation, or search.
 */
export type Route =
  | { screen: 'list' }
  /** `message`: a message (id, hex) to show and focus, from a search result. */
  | { screen: 'thread', handle: string, message?: string }
  | { screen: 'safety', handle: string }
  | { screen: 'settings' }
  | { screen: 'new' }
  | { screen: 'search' }

/** Parses `#/c/HANDLE` (and `?m=ID`), `#/c/HANDLE/safety`, `#/settings`, `#/new`, `#/search`. */
export function parseRoute (hash: string): Route {
  const safety = /^#\/c\/([^/]+)\/safety$/.exec(hash)
  if (safety != null) return { screen: 'safety', handle: decodeURIComponent(safety[1]) }
  const m = /^#\/c\/([^/?]+)(?:\?m=([0-9a-f]{1,64}))?$/.exec(hash)
  if (m != null) return { screen: 'thread', handle: decodeURIComponent(m[1]), ...(m[2] != null ? { message: m[2] } : {}) }
  if (hash === '#/settings') return { screen: 'settings' }
  if (hash === '#/new') return { screen: 'new' }
  if (hash === '#/search') return { screen: 'search' }
  return { screen: 'list' }
}

/** The hash of a route. */
export function routeHash (route: Route): string {
  switch (route.screen) {
    case 'thread': return `#/c/${encodeURIComponent(route.handle)}${route.message != null ? `?m=${route.message}` : ''}`
    case 'safety': return `#/c/${encodeURIComponent(route.handle)}/safety`
    case 'search': return '#/search'
    case 'settings': return '#/settings'
    case 'new': return '#/new'
    case 'list': return '#/'
  }
}

/** Goes to a route. */
export function go (route: Route): void {
  location.hash = routeHash(route)
}

/** The last conversation or list the user was on: where Escape goes back to from search, settings or a new chat. */
let lastPlace: Route = { screen: 'list' }

/** Remembers `route` if it is a place to come back to; returns it. */
function visit (route: Route): Route {
  if (route.screen === 'thread') lastPlace = { screen: 'thread', handle: route.handle }
  else if (route.screen === 'list') lastPlace = route
  return route
}

/** Where to go back to from a screen that was opened on top (search, settings, new chat). */
export function backRoute (): Route {
  return lastPlace
}

/** The current route; re-renders when the hash changes. */
export function useRoute (): Route {
  const [route, setRoute] = useState(() => visit(parseRoute(location.hash)))
  useEffect(() => {
    const on = (): void => { setRoute(visit(parseRoute(location.hash))) }
    window.addEventListener('hashchange', on)
    return () => { window.removeEventListener('hashchange', on) }
  }, [])
  return route
}
