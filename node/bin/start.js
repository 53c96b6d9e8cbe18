#!/usr/bin/env node
// `npm start`: starts a local relay and one daemon (compiled, or TypeScript through tsx; see load.js).
import { fileURLToPath } from 'node:url'
import { onSupportedNode } from './runtime.js'

if (onSupportedNode(fileURLToPath(import.meta.url))) {
  const { load } = await import('./load.js')
  const { start } = await load('start')
  process.exitCode = await start(process.argv.slice(2))
}
