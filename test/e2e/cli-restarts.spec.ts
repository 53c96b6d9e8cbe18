/**
 * Restarts that strand nobody (issue 13, item 5), with real processes: a
 * daemon whose relay went away says so in `status` and keeps trying;
 * `resolve` then says it cannot tell rather than "unknown handle"; a daemon
 * started with its relay away says so at start; `receive --follow` exits
 * non-zero when its daemon stops; a second `npm start` on the same data is
 * one line saying it already runs.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { Network, Processes, STARLING_BIN, eventually } from './harness.js'

const START = resolve(import.meta.dirname, '../../node/bin/start.js')

/** Runs a process to completion; resolves with its exit code and output. */
async function finished (proc: ChildProcess): Promise<{ code: number | null, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  proc.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>(resolve => proc.on('close', c => resolve(c)))
  return { code, stdout, stderr }
}

describe('e2e: restarts and stops that strand nobody', function () {
  this.timeout(240_000)
  const procs = new Processes()
  const net = new Network(procs)
  const children: ChildProcess[] = []
  after(async () => {
    for (const c of children) if (c.exitCode == null && c.signalCode == null) c.kill('SIGINT')
    await procs.stopAll()
  })

  it('a relay that went away: status says since when and keeps trying, resolve says it cannot tell, a new daemon says so at start', async () => {
    const relay = await net.startRelay()
    const dave = await net.newUser('dave')
    await net.startDaemon(dave, [relay.addr], { STARLING_FETCH_INTERVAL_MS: '1000', STARLING_RETRY_INTERVAL_MS: '500' })
    const known = await procs.cli(['resolve', 'dave', '--data', dave.dir])
    assert.equal(known.code, 0, known.stderr)

    await procs.stop(relay.relay, 'SIGKILL')
    const status = await eventually(async () => {
      const r = await procs.cli(['status', '--data', dave.dir])
      return /relay unreachable since \d\d:\d\d:\d\d, \d+ attempts, retrying with backoff/.test(r.stdout) ? r : undefined
    }, 60_000, 'status saying the relay is unreachable')
    for (const line of status.stdout.split('\n')) assert.doesNotMatch(line, /^\s+at /, 'no stack lines')

    let last = ''
    const lookup = await eventually(async () => {
      const r = await procs.cli(['resolve', 'nobody_at_all', '--data', dave.dir])
      last = r.stderr
      return /cannot tell/.test(r.stderr) ? r : undefined
    }, 60_000, 'resolve saying it cannot tell').catch((err: Error) => { throw new Error(`${err.message}; last answer: ${last}`) })
    assert.equal(lookup.code, 1)
    assert.match(lookup.stderr.trim(), /^starling: cannot tell whether nobody_at_all is claimed: relay \S+ unreachable since/)
    assert.doesNotMatch(lookup.stderr, /unknown handle/)

    // The relay comes back on its port: the daemon reserves again and the warning goes.
    await net.restartRelay(relay)
    await eventually(async () => {
      const r = await procs.cli(['status', '--data', dave.dir, '--json'])
      const res = r.json[0]?.reservations as Array<{ reserved: boolean, unreachableSince?: number }> | undefined
      return res?.every(x => x.reserved && x.unreachableSince == null) === true ? true : undefined
    }, 90_000, 'reservation made again after the relay came back')

    // A daemon started while its bootstrap relay is away says so at start.
    const away = await net.startRelay()
    await procs.stop(away.relay, 'SIGKILL')
    const erin = await net.newUser('erin')
    const daemon = await procs.start(['daemon', '--data', erin.dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', away.addr])
    const warning = await eventually(async () => daemon.events.find(e => e.event === 'relay-unreachable'), 30_000, 'relay-unreachable event at start')
    assert.equal(warning.relay, away.addr)
    assert.equal(warning.reserved, false)
  })

  it('receive --follow exits 1 saying so when the daemon stops', async () => {
    const relay = await net.startRelay()
    const fay = await net.newUser('fay')
    const daemon = await net.startDaemon(fay, [relay.addr])
    const receive = spawn(process.execPath, [STARLING_BIN, 'receive', '--follow', '--json', '--data', fay.dir], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(receive)
    const result = finished(receive)
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: receive.stdout }).on('line', line => { if (line.includes('"ready"')) resolve() })
      receive.on('exit', code => reject(new Error(`receive exited with ${String(code)} before ready`)))
    })
    await procs.stop(daemon)
    const r = await result
    assert.equal(r.code, 1, r.stderr)
    const err = JSON.parse(r.stderr.trim()) as { error: string, message: string }
    assert.equal(err.error, 'DaemonNotRunningError')
    assert.match(err.message, /stopped|lost the daemon/)
  })

  it('a second npm start on the same data says in one line that it is already running', async () => {
    const env = { ...process.env, STARLING_DATA: await procs.tempDir('starling-start-user-'), STARLING_RELAY_DATA: await procs.tempDir('starling-start-relay-'), STARLING_PASSPHRASE: '' }
    const first = spawn(process.execPath, [START], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(first)
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: first.stdout }).on('line', line => { if (line.startsWith('Press Ctrl-C')) resolve() })
      first.on('exit', code => reject(new Error(`first start exited with ${String(code)}`)))
    })
    const second = await finished(spawn(process.execPath, [START], { env, stdio: ['ignore', 'pipe', 'pipe'] }))
    assert.equal(second.code, 1)
    const lines = second.stderr.trim().split('\n')
    assert.equal(lines.length, 1, `one line: ${second.stderr}`)
    assert.match(lines[0], new RegExp(`^starling: already running for ${env.STARLING_DATA} \\(pid ${String(first.pid)}\\)`))
    assert.doesNotMatch(second.stderr, /OpenFailedError|^\s+at /m)
  })
})
