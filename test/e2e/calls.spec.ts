/**
 * CLI calls end to end (issue 12, item 5), with real daemons and a relay:
 * `starling call` from Alice to Bob (auto-answer), each sending its own
 * tone from a WAV file; each recording's dominant frequency is the other's
 * tone. Then Carol, who answers nothing: Alice's call rings, Bob's call
 * meanwhile gets "busy", Carol declines Alice's; a later call rings out
 * (Carol's ring time shortened by the daemon's test hook) and is missed.
 * Every call leaves its event in both threads.
 */
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FAST_DAEMON_ENV, Network, Processes, eventually } from './harness.js'
import type { HistoryMessage, User } from './harness.js'
import { encodeWav, goertzel, parseWav, tone } from '../../node/calls/wav.js'

const ALICE_HZ = 440
const BOB_HZ = 1000
/** Carol's calls ring this long (the daemon's test hook), instead of 60 s. */
const CAROL_RING_MS = 4000

type CallEntry = HistoryMessage & { call?: { outcome: string, durationMs: number, video: boolean } }

async function callEvents (net: Network, user: User, peer: User): Promise<CallEntry[]> {
  return (await net.history(user, peer) as CallEntry[]).filter(m => m.kind === 'call')
}

/** Waits until both threads show the same call events, in order, and returns them. */
async function bothThreads (net: Network, a: User, b: User, count: number): Promise<CallEntry[]> {
  return eventually(async () => {
    const [x, y] = [await callEvents(net, a, b), await callEvents(net, b, a)]
    if (x.length < count || y.length < count) return undefined
    assert.deepEqual(y.map(m => [m.id, m.call]), x.map(m => [m.id, m.call]))
    return x
  }, 30_000, `${count} call events in the threads of ${a.name} and ${b.name}`)
}

/** Which of two tones a recording holds, and by how much. */
function dominant (samples: Int16Array, tones: [number, number]): { hz: number, ratio: number } {
  const [p0, p1] = tones.map(f => goertzel(samples, f))
  return p0 > p1 ? { hz: tones[0], ratio: p0 / Math.max(p1, 1) } : { hz: tones[1], ratio: p1 / Math.max(p0, 1) }
}

describe('calls: the daemon places and answers audio calls', function () {
  this.timeout(240_000)
  const procs = new Processes()
  const net = new Network(procs)
  let alice: User
  let bob: User
  let carol: User
  let dir: string

  before(async () => {
    dir = await procs.tempDir('starling-calls-')
    await writeFile(join(dir, 'alice.wav'), encodeWav(tone(ALICE_HZ, 2)))
    await writeFile(join(dir, 'bob.wav'), encodeWav(tone(BOB_HZ, 2)))
    const relay = await net.startRelay()
    ;[alice, bob, carol] = await Promise.all([net.newUser('alice'), net.newUser('bob'), net.newUser('carol')])
    await net.startDaemon(alice, [relay.addr])
    await net.startDaemon(bob, [relay.addr], FAST_DAEMON_ENV, ['--auto-answer', '--call-audio-in', join(dir, 'bob.wav'), '--call-record', join(dir, 'bob-heard.wav')])
    await net.startDaemon(carol, [relay.addr], { ...FAST_DAEMON_ENV, STARLING_TEST_RING_TIMEOUT_MS: String(CAROL_RING_MS) })
    await net.befriend(alice, bob)
    await net.befriend(alice, carol)
    await net.befriend(bob, carol)
  })

  after(async () => { await procs.stopAll() })

  it('starling call: each side hears the other\'s tone; the call is "ended" with its duration in both threads', async () => {
    const r = await procs.cli(['call', bob.name, '--data', alice.dir, '--audio-in', join(dir, 'alice.wav'), '--audio-out', join(dir, 'alice-heard.wav'), '--seconds', '3', '--json'])
    assert.equal(r.code, 0, r.stderr + r.stdout)
    const result = r.json[0]
    assert.equal(result.connected, true)
    assert.equal(result.endReason, 'hangup')
    const heardByAlice = parseWav(await readFile(join(dir, 'alice-heard.wav')), 'alice-heard.wav')
    assert.ok(heardByAlice.length > 48_000 * 2, `Alice recorded ${heardByAlice.length} samples`)
    const a = dominant(heardByAlice.subarray(-48_000), [ALICE_HZ, BOB_HZ])
    assert.equal(a.hz, BOB_HZ)
    assert.ok(a.ratio > 10, `ratio ${a.ratio}`)
    const bobFile = await eventually(async () => await readFile(join(dir, 'bob-heard.wav')).catch(() => undefined), 10_000, 'Bob\'s recording')
    const heardByBob = parseWav(bobFile, 'bob-heard.wav')
    const b = dominant(heardByBob.subarray(-48_000), [ALICE_HZ, BOB_HZ])
    assert.equal(b.hz, ALICE_HZ)
    assert.ok(b.ratio > 10, `ratio ${b.ratio}`)
    const [event] = await bothThreads(net, alice, bob, 1)
    assert.equal(event.call?.outcome, 'ended')
    assert.ok((event.call?.durationMs ?? 0) >= 2_500 && (event.call?.durationMs ?? 0) < 30_000, `duration ${event.call?.durationMs}`)
    assert.equal(event.call?.video, false)
  })

  it('busy, declined and missed each leave their event in both threads', async () => {
    // Alice calls Carol, who answers nothing; it rings.
    const aliceCall = net.call<{ endReason: string, connected: boolean }>(alice, 'call', { handle: carol.handle, seconds: 1 })
    const ringing = await eventually(async () => {
      const calls = await net.call<Array<{ id: string, state: string, handle: string }>>(carol, 'calls')
      return calls.find(c => c.state === 'ringing')
    }, 30_000, 'Carol\'s phone ringing')
    assert.equal(ringing.handle, alice.handle)
    // Bob calls Carol meanwhile: busy.
    const bobCall = await net.call<{ endReason: string, connected: boolean }>(bob, 'call', { handle: carol.handle, seconds: 1 })
    assert.deepEqual([bobCall.connected, bobCall.endReason], [false, 'busy'])
    // Carol declines Alice.
    await net.call(carol, 'call-answer', { id: ringing.id, accept: false })
    const declined = await aliceCall
    assert.deepEqual([declined.connected, declined.endReason], [false, 'declined'])
    // Alice calls again; nobody answers within Carol's ring time.
    const missed = await net.call<{ endReason: string, connected: boolean }>(alice, 'call', { handle: carol.handle, seconds: 1 })
    assert.deepEqual([missed.connected, missed.endReason], [false, 'missed'])

    const aliceCarol = await bothThreads(net, alice, carol, 2)
    assert.deepEqual(aliceCarol.map(m => m.call?.outcome), ['declined', 'missed'])
    assert.ok(aliceCarol.every(m => m.call?.durationMs === 0))
    const bobCarol = await bothThreads(net, bob, carol, 1)
    assert.deepEqual(bobCarol.map(m => m.call?.outcome), ['busy'])
  })

  it('bad files are refused with one line before anything is placed', async () => {
    await writeFile(join(dir, 'not.wav'), 'hello')
    for (const [args, message] of [
      [['--audio-in', join(dir, 'missing.wav')], /--audio-in .*missing\.wav: no such file/],
      [['--audio-in', join(dir, 'not.wav')], /--audio-in .*not\.wav is not a WAV file/],
      [['--audio-out', join(dir, 'nowhere', 'x.wav')], /--audio-out .*cannot write into/],
      [['--seconds', '0'], /--seconds must be/]
    ] as Array<[string[], RegExp]>) {
      const r = await procs.cli(['call', bob.name, '--data', alice.dir, ...args])
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, message)
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
    }
    assert.equal((await callEvents(net, alice, bob)).length, 1, 'no call was placed')
  })
})
