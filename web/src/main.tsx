/**
 * The web app's entry: a whole Starling peer in this tab (app/), its
 * screens (ui/, Preact). `window.starling` is the app, for the browser
 * tests and the benchmark to look at (nothing secret is reachable that the
 * page itself could not reach).
 */
import { render } from 'preact'
import { StarlingApp } from './app/lifecycle.js'
import { App } from './ui/App.js'
import { go } from './ui/hooks.js'

declare global {
  interface Window { starling?: StarlingApp }
}

const app = new StarlingApp(undefined, (handle) => { go({ screen: 'thread', handle }) })
window.starling = app
const root = document.getElementById('app')
if (root != null) {
  root.textContent = ''
  render(<App app={app} />, root)
}
void app.boot()
