#!/usr/bin/env node
// The `starling` command: loads the CLI (compiled, or TypeScript through tsx; see load.js) and runs it,
// under the bundled Node 24 when the `node` on the PATH is older (runtime.js).
import { isatty } from 'node:tty'
import { fileURLToPath } from 'node:url'
import { onSupportedNode } from './runtime.js'

if (onSupportedNode(fileURLToPath(import.meta.url))) {
  // The logger (weald, under @libp2p/logger) asks isatty() for every logger it makes unless DEBUG_COLORS is set, and a
  // relay makes one per connection and stream (~7% of its CPU while 2,000 users connect): ask once, before it loads.
  process.env.DEBUG_COLORS ??= isatty(2) ? 'true' : 'false'
  const { load } = await import('./load.js')
  const { main } = await load('cli/main')
  process.exitCode = await main(process.argv.slice(2))
}
