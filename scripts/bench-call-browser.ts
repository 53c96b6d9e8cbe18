/**
 * The browser part of `npm run bench:call`: two tabs, each in its own
 * headless Chromium process with fake devices, on a relay on 127.0.0.1.
 * - call: from pressing "Video call" in the caller's thread (each tab calls
 *   the other in turn; the callee accepts with video at once) to the first decoded remote video frame and
 *   the first remote sound at the caller, median and p90 over RUNS calls;
 * - bare: two RTCPeerConnections in the caller's page with the same media
 *   and the signalling handed over at once, from createOffer to the same two
 *   moments, in the same run; and the ratios;
 * - bareAcrossPages: the same pair with one side in each tab's page (two
 *   Chromium processes, as a call's sides are), its signalling carried
 *   from page to page by this process at once; and the call's ratios to it
 *   (ratioToBareAcrossPages), beside the ratios to the in-page pair;
 * - the same with hide my IP on both tabs and a bare pair with
 *   iceTransportPolicy 'relay' (coturn on 127.0.0.1, as the relay offers it).
 * Both sides of both set-ups have their microphone and camera open before
 * the clock starts. Both moments are seen in the caller's page as its
 * remote tracks deliver them (MediaStreamTrackProcessor: the first decoded
 * video frame, the first decoded sound above zero), read from the moment
 * its connection exists, in both set-ups (page helpers below).
 * Each call's clock starts once the call before it is closed and in both
 * threads (its event written, delivered, shown and read).
 * `BENCH_CALL_PROFILE=DIR` profiles both tabs over the direct calls
 * (bench-call-profile.ts) and skips the calls through TURN.
 */
import { createHmac } from 'node:crypto'
import type { Page } from 'playwright-core'
import { WebStack, waitReady } from '../test/browser/browser.js'
import { openChat, setSwitch } from '../test/browser/app.js'
import { befriend, launchParty } from '../test/browser/calls.js'
import type { Party } from '../test/browser/calls.js'
import type { Coturn } from '../test/e2e/coturn.js'
import { CALL_BUDGET_WINDOW_MS, peerConnectionOptions } from '../src/calls/index.js'
import type { CallRtcConfiguration } from '../src/calls/index.js'
import { CallProfiler } from './bench-call-profile.js'

/** Calls per set-up (`BENCH_CALL_RUNS`, default 10). */
const RUNS = Number(process.env.BENCH_CALL_RUNS ?? 10)

/** Times of one set-up, ms (a call's also when the first frame was shown). */
interface Times { video: number[], audio: number[], shown?: number[] }

interface Summary { medianMs: number, p90Ms: number, runs: number }

function percentile (xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] * 10) / 10
}

function summary (xs: number[]): Summary {
  return { medianMs: percentile(xs, 0.5), p90Ms: percentile(xs, 0.9), runs: xs.length }
}

/**
 * Page code, as text (evaluated in the page as it is, with no build step
 * between): `firstMedia(getPc, start)` waits for the connection to exist,
 * reads its remote video and audio tracks frame by frame
 * (`MediaStreamTrackProcessor`: each decoded frame and each chunk of
 * decoded sound as the track delivers it), and resolves with the times
 * since `start` of the first video frame and the first sound (a sample
 * above zero, as an audio level above zero). Not `getStats()`: Chromium
 * answers it from a cache for 50 ms (checked here: 2 ms polls saw the same
 * report for 50 ms), so polled times fell on a 50 ms grid from the first
 * read. It also marks when the connection is up (`connectionState`).
 */
const PAGE_HELPERS = `
window.__bench = {
  firstMedia: async function (getPc, start) {
    var until = performance.now() + 20000
    var pc
    while ((pc = getPc()) == null && performance.now() < until) await new Promise(function (r) { setTimeout(r, 1) })
    if (pc == null) throw new Error('no connection within 20 s')
    var timeout = new Promise(function (resolve, reject) { setTimeout(function () { reject(new Error('no remote media within 20 s (connection ' + pc.connectionState + ')')) }, Math.max(0, until - performance.now())) })
    var connected = new Promise(function (resolve) {
      var seen = function () { if (pc.connectionState === 'connected') { window.__benchConnected = performance.now() - start; performance.mark('call:caller:connected-seen'); resolve(); return true } return false }
      if (!seen()) pc.addEventListener('connectionstatechange', seen)
    })
    var first = function (kind, isMedia) {
      var receiver = pc.getReceivers().find(function (r) { return r.track.kind === kind })
      if (receiver == null) return Promise.reject(new Error('no ' + kind + ' receiver'))
      var reader = new MediaStreamTrackProcessor({ track: receiver.track }).readable.getReader()
      var next = function () {
        return reader.read().then(function (r) {
          if (r.done) throw new Error('the remote ' + kind + ' track ended')
          var now = performance.now()
          var yes = isMedia(r.value)
          r.value.close()
          if (!yes) return next()
          performance.mark('call:caller:first-' + kind)
          reader.cancel().catch(function () {})
          return now - start
        })
      }
      return next()
    }
    var sound = function (data) {
      var samples = new Float32Array(data.numberOfFrames)
      data.copyTo(samples, { planeIndex: 0, format: 'f32-planar' })
      for (var i = 0; i < samples.length; i++) if (samples[i] !== 0) return true
      return false
    }
    var media = Promise.all([first('video', function () { return true }), first('audio', sound), connected])
    var got = await Promise.race([media, timeout])
    return { video: got[0], audio: got[1] }
  },
  // When the app's remote video element first presents a frame (requestVideoFrameCallback: the compositor's
  // presentation time), ms since start: the first frame the user sees, from the element the call screen mounts.
  firstShown: async function (start) {
    var until = performance.now() + 20000
    var video
    while ((video = document.querySelector('.call-videos video.remote')) == null && performance.now() < until) await new Promise(function (r) { setTimeout(r, 1) })
    if (video == null) throw new Error('no remote video element within 20 s')
    var at = await new Promise(function (resolve) { video.requestVideoFrameCallback(function (now, meta) { resolve(meta.presentationTime) }) })
    return at - start
  },
  // One side of a bare pair across two pages: window.__benchSignal (a binding of the bench process) carries its
  // messages to the other page's receive(), at once, unless send is set (wire, below). Candidates wait until the
  // other side's description is set.
  across: {
    pc: null, media: null, remoteSet: false, held: [], send: null, holdOwn: false, own: [],
    prepare: async function () { this.send = null; this.holdOwn = false; this.own = []; this.media = await navigator.mediaDevices.getUserMedia({ audio: true, video: true }) },
    out: function (text) { if (this.send != null) this.send(text); else window.__benchSignal(text) },
    make: function (config) {
      var self = this
      var pc = new RTCPeerConnection(config)
      self.pc = pc
      self.remoteSet = false
      self.held = []
      for (var t of self.media.getTracks()) pc.addTrack(t, self.media)
      var remote = new MediaStream()
      var audio = new Audio()
      audio.srcObject = remote
      self.audio = audio
      pc.addEventListener('track', function (e) { remote.addTrack(e.track); audio.play().catch(function () {}) })
      var relay = config.iceTransportPolicy === 'relay'
      pc.addEventListener('icecandidate', function (e) {
        if (e.candidate != null && (relay || / 127\\.\\d+\\.\\d+\\.\\d+ /.test(e.candidate.candidate))) {
          var text = JSON.stringify({ candidate: e.candidate.toJSON() })
          // The caller's candidates leave only with the callee's answer (its accept), as a call's do.
          if (self.holdOwn) self.own.push(text)
          else self.out(text)
        }
      })
      return pc
    },
    remoteDone: function () {
      this.remoteSet = true
      for (var c of this.held.splice(0)) this.pc.addIceCandidate(c).catch(function () {})
    },
    receive: async function (text, config) {
      var m = JSON.parse(text)
      if (m.candidate != null) {
        if (this.pc != null && this.remoteSet) this.pc.addIceCandidate(m.candidate).catch(function () {})
        else this.held.push(m.candidate)
        return
      }
      if (m.offer != null) {
        var pc = this.make(config)
        await pc.setRemoteDescription({ type: 'offer', sdp: m.offer })
        this.remoteDone()
        var answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        this.out(JSON.stringify({ answer: answer.sdp }))
        return
      }
      if (m.answer != null) {
        if (this.holdOwn) {
          this.holdOwn = false
          for (var own of this.own.splice(0)) this.out(own)
        }
        await this.pc.setRemoteDescription({ type: 'answer', sdp: m.answer })
        this.remoteDone()
      }
    },
    close: function () {
      if (this.pc != null) this.pc.close()
      if (this.audio != null) this.audio.pause()
      for (var t of (this.media != null ? this.media.getTracks() : [])) t.stop()
      this.pc = null
      this.media = null
    }
  },
  // The across pair's signalling over the two tabs' own libp2p connection (the one a call's stream takes: an
  // unlimited one first), on a bench protocol with no logic of its own: each message a 4-byte length and its text.
  wire: {
    protocol: '/starling-bench/signal/1.0.0',
    config: null,
    kind: '',
    listening: false,
    listen: async function () {
      if (this.listening) return
      this.listening = true
      var bench = window.__bench
      await window.starling.running.peer.node.handle(this.protocol, function (stream) {
        bench.across.send = function (text) { bench.wire.write(stream, text) }
        bench.wire.attach(stream, function (text) { bench.across.receive(text, bench.wire.config).catch(function () {}) })
      }, { runOnLimitedConnection: true })
    },
    // A connection to the other tab before the clock, as a call between two tabs finds one open.
    connect: async function (peer) {
      var node = window.starling.running.peer.node
      if (node.getConnections().some(function (c) { return c.remotePeer.toString() === peer && c.status === 'open' })) return
      var known = (await node.peerStore.all()).find(function (p) { return p.id.toString() === peer })
      if (known == null) throw new Error('the other tab is not in the peer store')
      await node.dial(known.id, { signal: AbortSignal.timeout(10000) })
    },
    open: async function (peer) {
      var conns = window.starling.running.peer.node.getConnections().filter(function (c) { return c.remotePeer.toString() === peer && c.status === 'open' })
      var conn = conns.find(function (c) { return c.limits == null }) || conns[0]
      if (conn == null) throw new Error('no connection to the other tab')
      var addr = conn.remoteAddr.toString()
      this.kind = addr.indexOf('/webrtc') >= 0 ? 'WebRTC' : addr.indexOf('/p2p-circuit') >= 0 ? 'relayed' : 'direct'
      return await conn.newStream(this.protocol, { runOnLimitedConnection: true, signal: AbortSignal.timeout(5000) })
    },
    attach: function (stream, onText) {
      var buf = new Uint8Array(0)
      stream.addEventListener('message', function (evt) {
        var d = evt.data.subarray()
        var joined = new Uint8Array(buf.length + d.length)
        joined.set(buf)
        joined.set(d, buf.length)
        buf = joined
        while (buf.length >= 4) {
          var n = ((buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]) >>> 0
          if (buf.length < 4 + n) break
          var text = new TextDecoder().decode(buf.subarray(4, 4 + n))
          buf = buf.slice(4 + n)
          onText(text)
        }
      })
    },
    write: function (stream, text) {
      var b = new TextEncoder().encode(text)
      var f = new Uint8Array(4 + b.length)
      f[0] = (b.length >>> 24) & 255; f[1] = (b.length >>> 16) & 255; f[2] = (b.length >>> 8) & 255; f[3] = b.length & 255
      f.set(b, 4)
      stream.send(f)
    }
  }
}
`

/**
 * RUNS calls, from A's thread and B's in turn (a callee takes 5 rings a
 * minute from one device: CALLS_PER_PEER); the callee accepts with video at
 * once.
 */
async function appCalls (a: Party, b: Party, profileDir?: string): Promise<Times> {
  for (const p of [a, b]) {
    await p.page.evaluate(() => {
      const running = window.starling?.running
      running?.peer.calls?.service.on((e) => {
        if (e.type !== 'incoming') return
        running.calls?.accept(true).catch(() => {})
      })
    })
  }
  // How each call ended, for the error when one does not bring media.
  for (const p of [a, b]) {
    await p.page.evaluate(() => {
      window.starling?.running?.peer.calls?.service.on((e) => {
        if (e.type !== 'ended') e.call.on((x) => { if (x.type === 'ended') document.documentElement.dataset.benchEnded = `${x.reason}${x.message != null ? `: ${x.message}` : ''}` })
      })
    })
  }
  await openChat(a.page, b.name)
  await openChat(b.page, a.name)
  const base = new Map<Party, CallEvents>()
  for (const p of [a, b]) base.set(p, await callEvents(p))
  const times: Times = { video: [], audio: [], shown: [] }
  /** With BENCH_CALL_TRACE set: both pages' marks of the call, in order, ms from the click (stderr). */
  const trace = async (i: number, t?: { video: number, audio: number, shown: number }): Promise<void> => {
    if (process.env.BENCH_CALL_TRACE == null && profiler == null) return
    const [caller, callee] = i % 2 === 0 ? [a, b] : [b, a]
    // The steps after the first media (the fingerprint check at DTLS) are marked too.
    if (t != null) for (const p of [caller, callee]) await p.page.waitForFunction(() => window.starling?.running?.calls?.current?.state !== 'connecting', undefined, { timeout: 10_000 }).catch(() => {})
    const marks = (await Promise.all([caller, callee].map(async p => await p.page.evaluate(() => performance.getEntriesByType('mark').filter(m => m.name.startsWith('call:')).map(m => [m.name, performance.timeOrigin + m.startTime] as [string, number]))))).flat()
    const click = marks.find(m => m[0] === 'call:caller:click')?.[1] ?? 0
    const seen = new Set<string>()
    const line = marks.sort((x, y) => x[1] - y[1]).filter(m => { if (seen.has(m[0])) return false; seen.add(m[0]); return true }).map(m => `${m[0].slice(5)} ${(m[1] - click).toFixed(1)}`).join('\n')
    profiler?.add({ caller: caller.name, marks })
    if (process.env.BENCH_CALL_TRACE != null) process.stderr.write(`call ${i + 1}: ${t == null ? 'failed' : `video ${t.video.toFixed(1)} audio ${t.audio.toFixed(1)} shown ${t.shown.toFixed(1)}`}\n${line}\n\n`)
  }
  if (process.env.BENCH_CALL_TRACE != null || profileDir != null) for (const p of [a, b]) await p.page.evaluate(() => { (globalThis as { starlingCallTrace?: boolean }).starlingCallTrace = true })
  const profiler = profileDir != null ? await CallProfiler.start(profileDir, [a, b]) : undefined
  for (let i = 0; i < RUNS; i++) {
    const [caller, callee] = i % 2 === 0 ? [a, b] : [b, a]
    // No mark of an earlier call or of the bare pairs (same names) hides this call's.
    for (const p of [caller, callee]) await p.page.evaluate(() => { delete document.documentElement.dataset.benchEnded; performance.clearMarks() })
    await Promise.all([caller, callee].map(async p => { await p.page.evaluate(async () => { await window.starling?.running?.calls?.media.prepare(true) }) }))
    const t = await caller.page.evaluate(async () => {
      const calls = window.starling?.running?.calls
      const button = [...document.querySelectorAll('button')].find(b => b.textContent === 'Video call')
      if (calls == null || button == null) throw new Error('no video call button')
      const start = performance.now()
      performance.mark('call:caller:click')
      button.click()
      const bench = (window as unknown as { __bench: { firstMedia: (pc: () => RTCPeerConnection | undefined, start: number) => Promise<{ video: number, audio: number }>, firstShown: (start: number) => Promise<number> } }).__bench
      const shown = bench.firstShown(start)
      shown.catch(() => {})
      const first = await bench.firstMedia(() => {
        const id = calls.current?.id
        return id == null ? undefined : calls.media.get(id)?.pc
      }, start)
      return { ...first, shown: await shown }
    }).catch(async (err: Error) => {
      await trace(i)
      const ended = async (p: Party): Promise<string> => await p.page.evaluate(() => `${document.documentElement.dataset.benchEnded ?? 'not ended'} (shown: ${document.querySelector('main .error')?.textContent ?? 'no error'})`)
      const calleeId = await callee.page.evaluate(() => window.starling?.running?.peer.node.peerId.toString() ?? '')
      const conns = await caller.page.evaluate((id) => JSON.stringify(window.starling?.running?.peer.node.getConnections().filter(c => c.remotePeer.toString() === id).map(c => [c.remoteAddr.toString(), c.limits, c.status, c.direction])), calleeId)
      throw new Error(`call ${i + 1}: ${err.message}; the caller's call: ${await ended(caller)}; the callee's: ${await ended(callee)}; conns ${conns}`)
    })
    await trace(i, t)
    for (const p of [caller, callee]) await p.page.evaluate(() => { performance.clearMarks() })
    times.video.push(t.video)
    times.audio.push(t.audio)
    times.shown?.push(t.shown)
    const ids = await Promise.all([caller, callee].map(async p => await p.page.evaluate(() => window.starling?.running?.calls?.current?.id)))
    await caller.page.evaluate(() => { window.starling?.running?.calls?.hangUp() })
    for (const [j, p] of [caller, callee].entries()) {
      await p.page.waitForFunction(() => window.starling?.running?.calls?.current?.over !== false)
      await p.page.evaluate(() => { window.starling?.running?.calls?.dismiss() })
      // The call's connection closed (a moment after the hang-up: its in-band message leaves first) before
      // the next clock starts, as the bare pair closes its own before its next: closing one takes 10–40 ms
      // of the page's thread, which would land in the next call's set-up.
      await p.page.waitForFunction((id) => { const pc = id == null ? undefined : window.starling?.running?.calls?.media.get(id)?.pc; return pc == null || pc.signalingState === 'closed' }, ids[j])
    }
    await callRecorded(caller, callee, i, base)
  }
  await profiler?.stop()
  return times
}

/** Call events in a page's thread: its own (read by the other side) and the other side's. */
interface CallEvents { own: number, other: number }

async function callEvents (p: Party): Promise<CallEvents> {
  return await p.page.evaluate(() => ({
    own: document.querySelectorAll('.message[data-kind="call"][data-mine="true"][data-state="read"]').length,
    other: document.querySelectorAll('.message[data-kind="call"][data-mine="false"]').length
  }))
}

/**
 * Waits until the call just over is in both threads and read (the caller
 * sends it when the call ends: sealed, stored and delivered, then shown,
 * read and acknowledged), before the next clock starts: that work is the
 * ended call's, and it took 10-20 ms of each page's thread in the next
 * call's set-up (CPU profiles, BENCH_CALL_PROFILE). The bare pair has none.
 */
async function callRecorded (caller: Party, callee: Party, i: number, base: Map<Party, CallEvents>): Promise<void> {
  // Each party placed every other call: its own call events, read by the other side, and the other's, shown.
  const mine = Math.floor(i / 2) + 1
  const theirs = Math.ceil(i / 2)
  const seen = async (p: Party, own: number, other: number): Promise<void> => {
    own += base.get(p)?.own ?? 0
    other += base.get(p)?.other ?? 0
    await p.page.waitForFunction(([own, other]) => document.querySelectorAll('.message[data-kind="call"][data-mine="true"][data-state="read"]').length >= own &&
      document.querySelectorAll('.message[data-kind="call"][data-mine="false"]').length >= other, [own, other], { timeout: 10_000 })
  }
  await Promise.all([seen(caller, mine, theirs), seen(callee, theirs, mine)]).catch((err: Error) => {
    process.stderr.write(`call ${i + 1}: not seen read in both threads within 10 s (${err.message.split('\n')[0]}): the next call starts anyway\n`)
  })
}

/**
 * RUNS bare pairs in the caller's page, media opened before the clock, signalling handed over at once, with the
 * options the app's calls use (peerConnectionOptions: the same bundling) from the same ICE configuration.
 */
async function barePairs (page: Page, ice: CallRtcConfiguration): Promise<Times> {
  const config: RTCConfiguration = peerConnectionOptions(ice)
  const times: Times = { video: [], audio: [] }
  for (let i = 0; i < RUNS; i++) {
    const t = await page.evaluate(async (config) => {
      const [ma, mb] = await Promise.all([0, 1].map(async () => await navigator.mediaDevices.getUserMedia({ audio: true, video: true })))
      const start = performance.now()
      const a = new RTCPeerConnection(config)
      const b = new RTCPeerConnection(config)
      for (const track of ma.getTracks()) a.addTrack(track, ma)
      for (const track of mb.getTracks()) b.addTrack(track, mb)
      const remote = new MediaStream()
      const audio = new Audio()
      audio.srcObject = remote
      a.addEventListener('track', (e) => { remote.addTrack(e.track); audio.play().catch(() => {}) })
      // Only loopback (or relay) candidates, as the app's calls on a loopback relay.
      const relay = config.iceTransportPolicy === 'relay'
      a.addEventListener('icecandidate', (e) => { if (e.candidate != null && (relay || / 127\.\d+\.\d+\.\d+ /.test(e.candidate.candidate))) b.addIceCandidate(e.candidate).catch(() => {}) })
      b.addEventListener('icecandidate', (e) => { if (e.candidate != null && (relay || / 127\.\d+\.\d+\.\d+ /.test(e.candidate.candidate))) a.addIceCandidate(e.candidate).catch(() => {}) })
      // Read from before the offer, as the call's page reads its own from the moment its connection exists.
      const measuring = (window as unknown as { __bench: { firstMedia: (pc: () => RTCPeerConnection, start: number) => Promise<{ video: number, audio: number }> } }).__bench.firstMedia(() => a, start)
      measuring.catch(() => {})
      const offer = await a.createOffer()
      await a.setLocalDescription(offer)
      await b.setRemoteDescription(offer)
      const answer = await b.createAnswer()
      await b.setLocalDescription(answer)
      await a.setRemoteDescription(answer)
      try {
        return await measuring
      } finally {
        a.close()
        b.close()
        audio.pause()
        for (const track of [...ma.getTracks(), ...mb.getTracks()]) track.stop()
      }
    }, config)
    times.video.push(t.video)
    times.audio.push(t.audio)
    if (process.env.BENCH_CALL_TRACE != null) process.stderr.write(`bare ${i + 1}: connected ${(await page.evaluate(() => (window as unknown as { __benchConnected: number }).__benchConnected)).toFixed(1)} video ${t.video.toFixed(1)} audio ${t.audio.toFixed(1)}\n`)
  }
  return times
}

/** The page side of {@link barePairsAcross}. */
interface AcrossPage {
  __bench: {
    firstMedia: (pc: () => RTCPeerConnection | null, start: number) => Promise<{ video: number, audio: number }>
    across: { pc: RTCPeerConnection | null, send: ((text: string) => void) | null, holdOwn: boolean, prepare: () => Promise<void>, make: (config: RTCConfiguration) => RTCPeerConnection, receive: (text: string, config: RTCConfiguration) => Promise<void>, out: (text: string) => void, close: () => void }
    wire: { config: RTCConfiguration | null, kind: string, listen: () => Promise<void>, connect: (peer: string) => Promise<void>, open: (peer: string) => Promise<{ close: () => Promise<void> }>, attach: (stream: unknown, onText: (text: string) => void) => void, write: (stream: unknown, text: string) => void }
  }
}

/** Pages whose across-pages signalling is wired (a binding once per page: it stays across reloads), and the configuration of the pairs now measured. */
const wired = new WeakSet<Page>()
let acrossConfig: RTCConfiguration = {}

/**
 * RUNS bare pairs across the two tabs' pages (each in its own Chromium
 * process, as a call's two sides are), with the same options and media
 * opened before the clock; measured in the caller's page from before its
 * connection is made, as the in-page pair is. Its signalling goes at once
 * as each side has it:
 * - `via: 'bench'`: from page to page through this process (a binding and
 *   an evaluate: a Chrome DevTools protocol hop each way), for what two
 *   processes cost a pair that has no protocol of its own;
 * - `via: 'libp2p'`: on a stream of the tabs' own libp2p connection (the
 *   one a call's stream takes), opened after the clock starts, while the
 *   connection is made, as a call's is, and with no logic of its own but
 *   the issue's rule that no candidate leaves before the accept (the
 *   caller's leave with the callee's answer): the floor of any call whose
 *   signalling crosses that connection under that rule.
 * The ratios stay against the in-page pair; the call's to these are beside.
 */
async function barePairsAcross (a: Page, b: Page, ice: CallRtcConfiguration, via: 'bench' | 'libp2p'): Promise<Times> {
  const config: RTCConfiguration = peerConnectionOptions(ice)
  acrossConfig = config
  for (const [from, to] of [[a, b], [b, a]] as const) {
    if (wired.has(from)) continue
    wired.add(from)
    // The configuration is read as each message goes (the binding stays from one set-up to the next).
    await from.exposeBinding('__benchSignal', async (_source, text: string) => {
      await to.evaluate(async ([text, config]) => { await (window as unknown as AcrossPage).__bench.across.receive(text, config) }, [text, acrossConfig] as const).catch(() => {})
    })
  }
  let calleePeer = ''
  if (via === 'libp2p') {
    calleePeer = await b.evaluate(async (config) => {
      const bench = (window as unknown as AcrossPage).__bench
      bench.wire.config = config
      await bench.wire.listen()
      return window.starling?.running?.peer.node.peerId.toString() ?? ''
    }, config)
    await a.evaluate(async (peer) => { await (window as unknown as AcrossPage).__bench.wire.connect(peer) }, calleePeer)
  }
  const times: Times = { video: [], audio: [] }
  for (let i = 0; i < RUNS; i++) {
    await Promise.all([a, b].map(async p => { await p.evaluate(async () => { await (window as unknown as AcrossPage).__bench.across.prepare() }) }))
    try {
      const t = await a.evaluate(async ([config, calleePeer]) => {
        const bench = (window as unknown as AcrossPage).__bench
        const start = performance.now()
        let wire: Promise<{ close: () => Promise<void> }> | undefined
        if (calleePeer !== '') {
          const opening = bench.wire.open(calleePeer)
          wire = opening
          opening.catch(() => {})
          // In order: each message goes once the stream is open, after those before it; the caller's candidates
          // with the answer (no candidate leaves before the accept: the call's rule).
          bench.across.holdOwn = true
          bench.across.send = (text) => { opening.then((stream) => { bench.wire.write(stream, text) }, () => {}) }
          opening.then((stream) => { bench.wire.attach(stream, (text) => { bench.across.receive(text, config).catch(() => {}) }) }, () => {})
        }
        const pc = bench.across.make(config)
        const measuring = bench.firstMedia(() => bench.across.pc, start)
        measuring.catch(() => {})
        const offer = await pc.createOffer()
        await pc.setLocalDescription(offer)
        bench.across.out(JSON.stringify({ offer: offer.sdp }))
        try {
          const first = await measuring
          // The candidate types of the pair in use, for the trace (relay on both ends through TURN).
          const stats = [...(await pc.getStats()).values()] as Array<Record<string, string>>
          const transport = stats.find(r => r.type === 'transport')
          const pair = stats.find(r => r.id === transport?.selectedCandidatePairId)
          const [local, remote] = [pair?.localCandidateId, pair?.remoteCandidateId].map(id => stats.find(r => r.id === id)?.candidateType ?? '?')
          return { ...first, path: `${local}-${remote}${calleePeer !== '' ? `, signalling ${bench.wire.kind}` : ''}` }
        } finally {
          if (wire != null) await (await wire).close().catch(() => {})
        }
      }, [config, calleePeer] as const)
      times.video.push(t.video)
      times.audio.push(t.audio)
      if (process.env.BENCH_CALL_TRACE != null) process.stderr.write(`bare across pages (${via}) ${i + 1}: video ${t.video.toFixed(1)} audio ${t.audio.toFixed(1)} (${t.path})\n`)
    } finally {
      await Promise.all([a, b].map(async p => { await p.evaluate(() => { (window as unknown as AcrossPage).__bench.across.close() }) }))
    }
  }
  return times
}

function report (call: Times, bare: Times, across: Times, overLibp2p: Times): Record<string, unknown> {
  const sum = (t: Times): { video: Summary, audio: Summary } => ({ video: summary(t.video), audio: summary(t.audio) })
  const ratio = (x: Summary, y: Summary): number => Math.round(x.medianMs / y.medianMs * 100) / 100
  const ratios = (x: { video: Summary, audio: Summary }, y: { video: Summary, audio: Summary }): { video: number, audio: number } => ({ video: ratio(x.video, y.video), audio: ratio(x.audio, y.audio) })
  const [c, b, x, l] = [call, bare, across, overLibp2p].map(sum)
  return {
    call: c,
    // The first frame as the app's remote video element presented it (the compositor's time): no bare pair has one.
    ...(call.shown != null ? { callFirstFrameShown: summary(call.shown) } : {}),
    bare: b,
    ratio: ratios(c, b),
    bareAcrossPages: x,
    ratioToBareAcrossPages: ratios(c, x),
    bareOverLibp2p: l,
    ratioToBareOverLibp2p: ratios(c, l),
    bareOverLibp2pToBare: ratios(l, b)
  }
}

/** Runs the browser part; with `coturn`, also through TURN (hide my IP on both tabs). */
export async function browserCallBench (dir: string, coturn?: Coturn): Promise<Record<string, unknown>> {
  const stack = new WebStack()
  const parties: Party[] = []
  try {
    await stack.start({ relayArgs: coturn != null ? ['--turn-url', coturn.url, '--turn-secret-file', coturn.secretFile] : [] })
    parties.push(await launchParty(stack, dir, 'caller', 440), await launchParty(stack, dir, 'callee', 1000))
    const [caller, callee] = parties
    await befriend(caller, callee)
    for (const p of parties) await p.page.evaluate(PAGE_HELPERS)
    const bare = await barePairs(caller.page, { iceServers: [], iceTransportPolicy: 'all' })
    const across = await barePairsAcross(caller.page, callee.page, { iceServers: [], iceTransportPolicy: 'all' }, 'bench')
    const directStarted = Date.now()
    // The direct calls only: profiling slows the tabs, and its run is for finding where time goes.
    const directCalls = await appCalls(caller, callee, process.env.BENCH_CALL_PROFILE)
    // After the calls: its signalling on the connection they took.
    const overLibp2p = await barePairsAcross(caller.page, callee.page, { iceServers: [], iceTransportPolicy: 'all' }, 'libp2p')
    const direct = report(directCalls, bare, across, overLibp2p)
    if (process.env.BENCH_CALL_PROFILE != null) return { direct, turn: 'skipped: BENCH_CALL_PROFILE' }
    if (coturn == null) return { direct, turn: 'skipped: no coturn' }
    const username = `${Math.floor(Date.now() / 1000) + 3600}:bench`
    const credential = createHmac('sha1', coturn.secret).update(username).digest('base64')
    const turnIce: CallRtcConfiguration = { iceServers: [{ urls: [coturn.url], username, credential }], iceTransportPolicy: 'relay' }
    const bareTurn = await barePairs(caller.page, turnIce)
    const acrossTurn = await barePairsAcross(caller.page, callee.page, turnIce, 'bench')
    for (const p of parties) {
      await setSwitch(p.page, 'Hide my IP address', 'hideMyIp', true)
      await p.page.reload()
      await waitReady(p.page)
      await p.page.evaluate(PAGE_HELPERS)
    }
    // The ring budget of the direct calls' minute must be over.
    await new Promise(resolve => setTimeout(resolve, Math.max(0, directStarted + CALL_BUDGET_WINDOW_MS + 1_000 - Date.now())))
    const turnCalls = await appCalls(caller, callee)
    // Its signalling on the connection the calls took (hide my IP keeps them relayed).
    const overLibp2pTurn = await barePairsAcross(caller.page, callee.page, turnIce, 'libp2p')
    const turn = report(turnCalls, bareTurn, acrossTurn, overLibp2pTurn)
    return { direct, turn }
  } finally {
    for (const p of parties) await p.browser.close()
    await stack.stop()
  }
}
