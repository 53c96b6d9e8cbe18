/**
 * A long-running command (daemon, relay, `npm start`) outlives a rejection
 * nobody handled: in a child process, which Node would end with code 1,
 * the rejection is logged as an internal error and the process goes on to
 * exit on its own terms; the lines written are bounded.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Network, Processes } from '../../e2e/harness.js'
import type { Running } from '../../e2e/harness.js'

const MODULE = fileURLToPath(new URL('../../../node/unhandled.ts', import.meta.url))

/** Runs a script in a child Node with tsx; its exit code and stderr. */
async function child (script: string): Promise<{ code: number | null, stderr: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  proc.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const code = await new Promise<number | null>(resolve => proc.once('exit', resolve))
  return { code, stderr }
}

const REJECT = (n: number): string => `for (let i = 0; i < ${n}; i++) Promise.reject(new Error('nobody waits for ' + i))`

describe('node: rejections nobody handled', function () {
  this.timeout(60_000)

  it('without the guard Node ends the process (the control)', async () => {
    const { code, stderr } = await child(`${REJECT(1)}; setTimeout(() => process.exit(0), 200)`)
    assert.equal(code, 1)
    assert.match(stderr, /nobody waits for 0/)
  })

  it('with it the process logs the error and keeps running, and stops logging after the bound', async () => {
    const script = `
      const { keepRunningOnUnhandledRejection, MAX_UNHANDLED_LOGGED } = await import(${JSON.stringify(MODULE)})
      const guard = keepRunningOnUnhandledRejection(line => { process.stderr.write(line + '\\n') })
      ${REJECT(150)}
      setTimeout(() => { process.stderr.write('count ' + guard.count() + ' bound ' + MAX_UNHANDLED_LOGGED + '\\n'); process.exit(0) }, 300)`
    const { code, stderr } = await child(script)
    assert.equal(code, 0, stderr)
    assert.match(stderr, /internal error, kept running \(unhandled rejection 1\): Error: nobody waits for 0/)
    assert.match(stderr, /count 150 bound 100/)
    assert.equal(stderr.split('\n').filter(l => l.includes('internal error')).length, 100)
  })

  it('a daemon that outlived one still counts as crashed for the e2e tests that assert nothing crashed (the guard must not hide it from them)', async () => {
    // The guard's own output, from a child that keeps running: what a relay or daemon started by the harness would print.
    const script = `
      const { keepRunningOnUnhandledRejection } = await import(${JSON.stringify(MODULE)})
      keepRunningOnUnhandledRejection(line => { process.stderr.write(line + '\\n') })
      ${REJECT(1)}
      setTimeout(() => process.exit(0), 300)`
    const { code, stderr } = await child(script)
    assert.equal(code, 0, stderr)
    const net = new Network(new Processes())
    const alive = { exitCode: null, signalCode: null } as unknown as Running['proc']
    // A process the harness started that has not exited: only its stderr tells.
    const started = (net as unknown as { started: Array<{ what: string, running: Running }> }).started
    started.push({ what: 'daemon /tmp/x', running: { proc: alive, ready: {}, events: [], stderr: stderr.split('\n') } })
    started.push({ what: 'relay /tmp/y', running: { proc: alive, ready: {}, events: [], stderr: ['{"event":"ready"}'] } })
    const crashed = net.crashed()
    assert.equal(crashed.length, 1, crashed.join('\n'))
    assert.match(crashed[0], /^daemon \/tmp\/x logged 1 unhandled rejection/)
    assert.match(crashed[0], /nobody waits for 0/)
  })
})
