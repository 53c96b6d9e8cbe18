/**
 * Dialing every certhash of a WebRTC-direct address at once
 * (src/net/webrtc-direct/dial.ts), over a stub single-address dialer: the
 * first connection wins, the other attempts are aborted, one that connects
 * anyway is closed, and when none connects the first address's error is
 * what the caller sees.
 */
import assert from 'node:assert/strict'
import type { Connection, DialTransportOptions } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { certhashes } from '../../../../src/net/webrtc-direct/addresses.js'
import { dialAnyCerthash } from '../../../../src/net/webrtc-direct/dial.js'

const A = 'uEiDgaldxa6mwG8MY6gD3qbQnRe6zd_cglI2mq5-31-Xx5Q'
const B = 'uEiCQ7dutNFmfKYesR-er1Qmp4ImHx_rtoMjJWjM15_DXdQ'
const TWO = multiaddr(`/ip4/127.0.0.1/udp/4003/webrtc-direct/certhash/${A}/certhash/${B}`)

interface Attempt { certhash: string, signal: AbortSignal, settle: (c?: Connection, err?: Error) => void }

function fakeConnection (name: string, closed: string[]): Connection {
  return { id: name, close: async () => { closed.push(name) } } as unknown as Connection
}

/** A dialer whose attempts the test settles by hand; an aborted attempt fails with the abort reason. */
function stubDialer (): { attempts: Attempt[], dialOne: (ma: Multiaddr, o: DialTransportOptions) => Promise<Connection> } {
  const attempts: Attempt[] = []
  const dialOne = async (ma: Multiaddr, options: DialTransportOptions): Promise<Connection> => await new Promise((resolve, reject) => {
    const hashes = certhashes(ma)
    assert.equal(hashes.length, 1, 'each attempt has one certhash')
    attempts.push({ certhash: hashes[0], signal: options.signal, settle: (c, err) => { if (c != null) resolve(c); else reject(err ?? new Error('failed')) } })
    options.signal.addEventListener('abort', () => { reject(options.signal.reason as Error) })
  })
  return { attempts, dialOne }
}

const options = (): DialTransportOptions => ({ signal: new AbortController().signal }) as unknown as DialTransportOptions
const tick = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

describe('dialing every certhash of a WebRTC-direct address', () => {
  it('keeps the first connection made and aborts the other attempt', async () => {
    const { attempts, dialOne } = stubDialer()
    const closed: string[] = []
    const dialing = dialAnyCerthash(TWO, options(), dialOne)
    await tick()
    assert.deepEqual(attempts.map(a => a.certhash), [A, B], 'both at once')
    const second = fakeConnection('second', closed)
    attempts[1].settle(second)
    assert.equal(await dialing, second)
    assert.equal(attempts[0].signal.aborted, true, 'the other attempt is aborted')
    assert.equal(attempts[1].signal.aborted, false)
    assert.deepEqual(closed, [])
  })

  it('closes an attempt that connected anyway after another won', async () => {
    const closed: string[] = []
    const attempts: Attempt[] = []
    // This dialer ignores abort: both connect.
    const dialOne = async (ma: Multiaddr, o: DialTransportOptions): Promise<Connection> => await new Promise((resolve) => {
      attempts.push({ certhash: certhashes(ma)[0], signal: o.signal, settle: (c) => { if (c != null) resolve(c) } })
    })
    const dialing = dialAnyCerthash(TWO, options(), dialOne)
    await tick()
    attempts[0].settle(fakeConnection('first', closed))
    assert.equal((await dialing).id, 'first')
    attempts[1].settle(fakeConnection('late', closed))
    await tick()
    assert.deepEqual(closed, ['late'])
  })

  it('fails with the first address\'s error when none connects', async () => {
    const { attempts, dialOne } = stubDialer()
    const dialing = dialAnyCerthash(TWO, options(), dialOne)
    await tick()
    attempts[1].settle(undefined, Object.assign(new Error('second'), { name: 'SecondError' }))
    attempts[0].settle(undefined, Object.assign(new Error('first'), { name: 'FirstError' }))
    await assert.rejects(dialing, { name: 'FirstError' })
  })

  it('dials an address with one certhash as it is', async () => {
    const one = multiaddr(`/ip4/127.0.0.1/udp/4003/webrtc-direct/certhash/${A}`)
    const { attempts, dialOne } = stubDialer()
    const dialing = dialAnyCerthash(one, options(), dialOne)
    await tick()
    assert.equal(attempts.length, 1)
    attempts[0].settle(fakeConnection('only', []))
    assert.equal((await dialing).id, 'only')
  })

  it('tries at most two certhashes of an address, however many it names', async () => {
    const C = 'uEiBPyHoVvg3oeyiKJfTMYpmvR2Mf-1QFqwMb7aSbkPaQ3w'
    const three = multiaddr(`/ip4/127.0.0.1/udp/4003/webrtc-direct/certhash/${A}/certhash/${B}/certhash/${C}`)
    const { attempts, dialOne } = stubDialer()
    const dialing = dialAnyCerthash(three, options(), dialOne)
    await tick()
    assert.deepEqual(attempts.map(a => a.certhash), [A, B])
    attempts[0].settle(fakeConnection('first', []))
    await dialing
  })

  it('aborts every attempt when the caller aborts', async () => {
    const { attempts, dialOne } = stubDialer()
    const caller = new AbortController()
    const dialing = dialAnyCerthash(TWO, { signal: caller.signal } as unknown as DialTransportOptions, dialOne)
    await tick()
    caller.abort(Object.assign(new Error('stop'), { name: 'AbortError' }))
    await assert.rejects(dialing, { name: 'AbortError' })
    assert.ok(attempts.every(a => a.signal.aborted))
  })
})
