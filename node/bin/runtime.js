// Runs the bins on Node 24 whatever `node` is on the PATH: libp2p 3 needs
// Node >= 22, the project brings Node 24 (the `node` devDependency), and a
// `starling` linked onto the PATH (npm link) starts under the machine's own
// Node. On an older Node this re-executes the same script under the bundled
// one, quietly (no npm, so no engine warnings), with the same arguments,
// standard streams and terminal, and exits as it exits.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

// import.meta.dirname is Node >= 20.11; the file URL works on any Node this may start under.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const MIN_MAJOR = 22

/** The bundled Node 24, if installed. */
export const BUNDLED_NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node')

/**
 * True when this process runs a new enough Node (go on); otherwise starts
 * `script` under the bundled Node, forwards termination signals to it,
 * exits with its code, and returns false (do nothing more).
 */
export function onSupportedNode (script) {
  const major = Number(process.versions.node.split('.')[0])
  if (major >= MIN_MAJOR) return true
  if (!existsSync(BUNDLED_NODE)) {
    process.stderr.write(`starling: needs Node ${MIN_MAJOR} or later (this is ${process.version}); run npm install in ${ROOT} to get the Node it brings\n`)
    process.exitCode = 1
    return false
  }
  const child = spawn(BUNDLED_NODE, [script, ...process.argv.slice(2)], { stdio: 'inherit' })
  // Ctrl-C reaches the whole foreground process group, the child too; a kill names only us: pass it on.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
  child.on('error', (err) => {
    process.stderr.write(`starling: could not start ${BUNDLED_NODE}: ${err.message}\n`)
    process.exit(1)
  })
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)))
  return false
}
