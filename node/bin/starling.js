#!/usr/bin/env node
// The `starling` command: loads the CLI (compiled, or TypeScript through tsx; see load.js) and runs it.
import { load } from './load.js'
const { main } = await load('cli/main')
process.exitCode = await main(process.argv.slice(2))
