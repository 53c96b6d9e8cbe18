#!/usr/bin/env node
// `npm start`: registers the TypeScript loader, then starts a local relay and one daemon.
import { register } from 'tsx/esm/api'
register()
const { start } = await import('../start.ts')
process.exitCode = await start(process.argv.slice(2))
