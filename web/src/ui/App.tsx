/** The app's root: a screen for each phase of its life (app/state.ts). */
import type { StarlingApp } from '../app/lifecycle.js'
import { Elsewhere, Failure, Loading, Unlock } from './Gates.js'
import { Setup } from './Setup.js'
import { Shell } from './Shell.js'
import { useAppState } from './hooks.js'

export function App ({ app }: { app: StarlingApp }) {
  const state = useAppState(app)
  switch (state.phase) {
    case 'loading': return <Loading text="Starting Starling…" />
    case 'starting': return <Loading text="Connecting…" />
    case 'elsewhere': return <Elsewhere app={app} />
    case 'setup': return <Setup app={app} />
    case 'locked': return <Unlock app={app} error={state.error} />
    case 'error': return <Failure error={state.error} />
    case 'running': return <Shell app={app} state={state} />
  }
}
