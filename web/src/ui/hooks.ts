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

/** Where the user is: the list, a conversation (by handle), settings, or starting a new conversation. */
export type Route =
  | { screen: 'list' }
  | { screen: 'thread', handle: string }
  | { screen: 'settings' }
  | { screen: 'new' }

/** Parses `#/c/HANDLE`, `#/settings`, `#/new`. */
export function parseRoute (hash: string): Route {
  const m = /^#\/c\/(.+)$/.exec(hash)
  if (m != null) return { screen: 'thread', handle: decodeURIComponent(m[1]) }
  if (hash === '#/settings') return { screen: 'settings' }
  if (hash === '#/new') return { screen: 'new' }
  return { screen: 'list' }
}

/** The hash of a route. */
export function routeHash (route: Route): string {
  switch (route.screen) {
    case 'thread': return `#/c/${encodeURIComponent(route.handle)}`
    case 'settings': return '#/settings'
    case 'new': return '#/new'
    case 'list': return '#/'
  }
}

/** Goes to a route. */
export function go (route: Route): void {
  location.hash = routeHash(route)
}

/** The current route; re-renders when the hash changes. */
export function useRoute (): Route {
  const [route, setRoute] = useState(parseRoute(location.hash))
  useEffect(() => {
    const on = (): void => { setRoute(parseRoute(location.hash)) }
    window.addEventListener('hashchange', on)
    return () => { window.removeEventListener('hashchange', on) }
  }, [])
  return route
}
