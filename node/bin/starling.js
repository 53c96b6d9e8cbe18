#!/usr/bin/env node
// The `starling` command: loads the CLI (compiled, or TypeScript through tsx; see load.js) and runs it,
// under the bundled Node 24 when the `node` on the PATH is older (runtime.js).
import { fileURLToPath } from 'node:url'
import { onSupportedNode } from './runtime.js'

if (onSupportedNode(fileURLToPath(import.meta.url))) {
  const { load } = await import('./load.js')
  const { main } = await load('cli/main')
  process.exitCode = await main(process.argv.slice(2))
}
