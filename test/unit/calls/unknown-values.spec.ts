/**
 * Forward compatibility of call signalling (issue 12): values a later
 * version may send. A hang-up reason this version does not know (reason 6,
 * "answered elsewhere", broke the peers before it as a protocol error) ends
 * the call plainly ("call ended"), on the stream and on the data channel; a
 * frame of a kind added later is ignored once the call is under way (and
 * counted against the frame budget), and refused as a stream's first frame.
 * The frames are written byte by byte, as a newer peer would, not through
 * this version's encoder.
 */
import assert from 'node:assert/strict'
import type { Stream } from '@libp2p/interface'
import type { CallServiceEvent, CallSession } from '../../../src/calls/index.js'
import { remoteHangupEnd } from '../../../src/calls/endings.js'
import { decodeCallFrame, parseInbandHangup } from '../../../src/calls/wire.js'
import { encodeFrame } from '../../../src/protocols/dm/dm.js'
import { connect, pair, stopAll, waitFor, target, party } from './helpers.js'
import type { Side } from './helpers.js'

/** Protobuf by hand: field 1 (call id, bytes), then `rest`. */
function frameBody (callId: Uint8Array, rest: number[]): Uint8Array {
  return new Uint8Array([0x0a, callId.byteLength, ...callId, ...rest])
}
/** Field 7 (hangup, a message) holding field 1 (reason, varint) = `reason` (< 128). */
const hangupWith = (reason: number): number[] => [0x3a, 0x02, 0x08, reason]
/** Field 12 (not in this version's CallFrame), varint 1: a signal kind added later. */
const NEW_KIND = [0x60, 0x01]


function incomingOf (side: Side): CallSession[] {
  const calls: CallSession[] = []
  side.service.on((e: CallServiceEvent) => { if (e.type === 'incoming') calls.push(e.call) })
  return calls
}

function ended (call: CallSession): Promise<string> {
  return new Promise(resolve => call.on(e => { if (e.type === 'ended') resolve(e.reason) }))
}

/** Alice calls Bob; Bob's end of the stream (what he writes reaches Alice's call). */
async function ringing (): Promise<{ alice: Side, bob: Side, call: CallSession, bobCall: CallSession, callId: Uint8Array, bobEnd: Stream }> {
  const { alice, bob } = await pair()
  const rang = incomingOf(bob)
  const call = await alice.service.place(target(bob), party(bob))
  await waitFor(() => rang.length === 1 && call.state === 'calling', 'ringing')
  return { alice, bob, call, bobCall: rang[0], callId: Buffer.from(call.id, 'hex'), bobEnd: bob.inbound[0] }
}

describe('calls: values a later version may send', () => {
  afterEach(stopAll)

  it('decodes a hang-up reason it does not know (7, 99, none) as `unknown`, not a protocol error', () => {
    const callId = new Uint8Array(16).fill(3)
    for (const reason of [7, 99]) {
      assert.deepEqual(decodeCallFrame(frameBody(callId, hangupWith(reason))).signal, { kind: 'hangup', reason: 'unknown' })
    }
    assert.deepEqual(decodeCallFrame(frameBody(callId, [0x3a, 0x00])).signal, { kind: 'hangup', reason: 'unknown' })
    assert.deepEqual(decodeCallFrame(frameBody(callId, hangupWith(6))).signal, { kind: 'hangup', reason: 'answered-elsewhere' })
    assert.deepEqual(decodeCallFrame(frameBody(callId, NEW_KIND)).signal, { kind: 'unknown' })
    // Two known kinds in one frame is still malformed.
    assert.throws(() => decodeCallFrame(frameBody(callId, [...hangupWith(1), 0x2a, 0x00])), { name: 'CallProtocolError' })
  })

  it('an unknown reason ends the call plainly ("call ended") in every state, never as protocol, missed or declined', () => {
    for (const state of ['ringing', 'calling', 'connecting', 'connected', 'reconnecting'] as const) {
      assert.deepEqual(remoteHangupEnd(state, 'unknown'), { reason: 'remote-hangup' }, state)
    }
  })

  it('an in-band hang-up with an unknown reason ends the call at once; other data-channel messages are still ignored', () => {
    assert.equal(parseInbandHangup(JSON.stringify({ hangup: 'moved-to-another-device' })), 'unknown')
    assert.equal(parseInbandHangup(JSON.stringify({ hangup: 'normal' })), 'normal')
    assert.equal(parseInbandHangup(JSON.stringify({ hangup: 7 })), undefined)
    assert.equal(parseInbandHangup(JSON.stringify({ chat: 'hi' })), undefined)
  })

  it('a ringing call hung up with reason 99 by the callee ends as "call ended" on the caller, not as a protocol error', async () => {
    const { call, callId, bobEnd } = await ringing()
    const reason = ended(call)
    bobEnd.send(encodeFrame(frameBody(callId, hangupWith(99))))
    assert.equal(await reason, 'remote-hangup')
    assert.equal(call.endReason, 'remote-hangup')
  })

  it('a connected call hung up with reason 42 ends as "call ended"', async () => {
    const { call, bobCall, callId, bobEnd } = await ringing()
    await bobCall.accept()
    await waitFor(() => call.state === 'connected' && bobCall.state === 'connected', 'connected')
    const reason = ended(call)
    bobEnd.send(encodeFrame(frameBody(callId, hangupWith(42))))
    assert.equal(await reason, 'remote-hangup')
  })

  it('a frame of a kind added later is ignored while the call rings (the call goes on and connects)', async () => {
    const { call, bobCall, callId, bobEnd } = await ringing()
    bobEnd.send(encodeFrame(frameBody(callId, NEW_KIND)))
    bobEnd.send(encodeFrame(frameBody(callId, NEW_KIND)))
    await bobCall.accept()
    await waitFor(() => call.state === 'connected' || call.over, 'connected or ended')
    assert.equal(call.state, 'connected')
    assert.equal(bobEnd.status, 'open')
  })

  it('a stream that opens with a frame of an unknown kind is refused: nothing rings', async () => {
    const { alice, bob } = await pair()
    const rang = incomingOf(bob)
    const stream = await connect(bob, alice.party.device.peerId)
    stream.send(encodeFrame(frameBody(new Uint8Array(16).fill(9), NEW_KIND)))
    await waitFor(() => stream.status !== 'open', 'the stream dropped')
    assert.equal(rang.length, 0)
    assert.equal(bob.service.active.length, 0)
  })
})
