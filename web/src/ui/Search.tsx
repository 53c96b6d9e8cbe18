/**
 * Searching every conversation's history, in this tab (app/search.ts):
 * results newest first, each a link that opens its conversation at the
 * message.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import type { RunningPeer } from '../app/client.js'
import type { SearchHit } from '../app/search.js'
import { formatTime, shortName } from './format.js'
import { backRoute, routeHash } from './hooks.js'

/** Results follow typing after this pause. */
const SEARCH_DELAY_MS = 200

export function SearchScreen ({ running }: { running: RunningPeer }) {
  const [query, setQuery] = useState('')
  const [hits, setHits] = useState<SearchHit[]>()
  const [error, setError] = useState<string>()
  const box = useRef<HTMLInputElement>(null)
  // Focused in the same task that shows the box (a layout effect, not an
  // effect after paint): keys typed right after Ctrl+K go into it, and
  // nothing can see the box before it has focus.
  useLayoutEffect(() => { box.current?.focus() }, [])
  useEffect(() => {
    if (query.trim() === '') {
      setHits(undefined)
      return
    }
    let current = true
    const timer = setTimeout(() => {
      running.search(query).then((h) => { if (current) setHits(h) }).catch((err: Error) => { setError(err.message) })
    }, SEARCH_DELAY_MS)
    return () => {
      current = false
      clearTimeout(timer)
    }
  }, [query, running])
  return (
    <main id="main" class="main search" tabIndex={-1} aria-labelledby="search-title">
      <div class="screen-head">
        <a class="back" href={routeHash(backRoute())} aria-label="Back">←</a>
        <h2 id="search-title">Search messages</h2>
      </div>
      <form role="search" onSubmit={(e) => { e.preventDefault() }}>
        <label for="search-query">Search every conversation</label>
        <input id="search-query" ref={box} type="search" autoComplete="off" aria-describedby="search-hint" value={query} onInput={(e) => { setQuery(e.currentTarget.value) }} />
        <p id="search-hint" class="hint">Searched in this browser only: nothing is sent anywhere.</p>
      </form>
      {error != null && <p role="alert" class="error">{error}</p>}
      <p role="status" class="hint">{hits == null ? '' : hits.length === 0 ? 'No message matches.' : `${hits.length} message${hits.length === 1 ? '' : 's'} found`}</p>
      {hits != null && hits.length > 0 && (
        <ul class="search-results">
          {hits.map(h => (
            <li key={h.id} data-message-id={h.id}>
              <a href={routeHash({ screen: 'thread', handle: h.handle, message: h.id })}>
                <span class="who">{h.mine ? `You to ${shortName(h.handle)}` : shortName(h.handle)}</span>
                <time dateTime={new Date(h.timestamp).toISOString()}>{formatTime(h.timestamp)}</time>
                <span class="text">{h.text}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </main>
  )
}
