/**
 * A long-running command (daemon, relay, `npm start`) outlives a rejection
 * nobody handled: in a child process, which Node would end with code 1,
 * the rejection is logged as an internal error and the process goes on to
 * exit on its own terms; the lines written are bounded.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

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
})
