/**
 * `npm run bench:call`: how fast a call starts, Node to Node, as JSON.
 * - call: from pressing call (CallService.place over a libp2p connection
 *   on loopback TCP, the callee accepting at once) to the first remote audio
 *   at the caller, median and p90 over RUNS calls;
 * - bare: two @roamhq/wrtc RTCPeerConnections with the same media and
 *   signalling handed over in-process at once, from createOffer to the first
 *   remote audio at the offerer, in the same run; and the ratio;
 * - the same two through TURN (coturn on 127.0.0.1, relay candidates only),
 *   when /usr/bin/turnserver is there.
 * Both sides of both set-ups have their audio source made before the clock
 * starts. Then the browser part (scripts/bench-call-browser.ts): tab to tab
 * through the app's screens, to the first decoded video frame and the first
 * audio, beside a bare pair in the page, direct and through TURN.
 * `--only node` or `--only browser` runs one part.
 * Targets (issue 12): median under 500 ms, ratio under 1.5.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHmac } from 'node:crypto'
import { tcp } from '@libp2p/tcp'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { CallService, peerConnectionOptions } from '../src/calls/index.js'
import type { CallRtcConfiguration, CallServiceComponents } from '../src/calls/index.js'
import { buildDeviceRecord, starlingDhtValidators } from '../src/identity/index.js'
import { createStarlingNode } from '../src/net/node.js'
import type { StarlingLibp2p } from '../src/net/node.js'
import { nodeCrypto } from '../node/platform.js'
import { CallAudio, loadWrtc, wrtcPeerConnectionFactory } from '../node/calls/media.js'
import { tone } from '../node/calls/wav.js'
import { signalPair } from '../node/calls/signal-pair.js'
import { TURNSERVER, startCoturn } from '../test/e2e/coturn.js'
import { browserCallBench } from './bench-call-browser.js'

const RUNS = 10
const crypto = nodeCrypto()

function percentile (xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] * 10) / 10
}

function summary (xs: number[]): { medianMs: number, p90Ms: number, runs: number } {
  return { medianMs: percentile(xs, 0.5), p90Ms: percentile(xs, 0.9), runs: xs.length }
}

async function waitAudio (audio: CallAudio, signal = AbortSignal.timeout(20_000)): Promise<number> {
  while (audio.firstAudioAt == null) {
    if (signal.aborted) throw new Error('no remote audio within 20 s')
    await new Promise(resolve => setTimeout(resolve, 1))
  }
  return audio.firstAudioAt
}

/** A node on loopback TCP with a call service whose connections carry a tone. */
async function callNode (config: CallRtcConfiguration, hz: number): Promise<{ node: StarlingLibp2p, service: CallService, next: () => CallAudio }> {
  const privateKey = await generateKeyPair('Ed25519')
  const { validators, selectors } = starlingDhtValidators(crypto, { now: Date.now })
  const node = await createStarlingNode({ privateKey, role: 'user', transports: [tcp()], listen: ['/ip4/127.0.0.1/tcp/0'], validators, selectors, loopback: true })
  const account = await crypto.ed25519.generateKeyPair()
  const record = await buildDeviceRecord(crypto, {
    accountSecretKey: account.secretKey,
    devicePrivateKey: privateKey,
    addrs: node.getMultiaddrs(),
    identityKey: (await crypto.x25519.generateKeyPair()).publicKey,
    signedPrekey: { id: 1, publicKey: (await crypto.x25519.generateKeyPair()).publicKey },
    kemPrekey: { id: 1, publicKey: (await crypto.kem.generateKeyPair()).publicKey },
    seq: 1,
    expiresAt: Date.now() + 3600_000
  })
  // The audio of the next call, made before the clock starts.
  let prepared = new CallAudio(tone(hz, 1))
  const next = (): CallAudio => prepared
  const service = new CallService({ registrar: node, dialer: node } as CallServiceComponents, {
    crypto,
    callers: { standing: async () => ({ standing: 'contact', handle: 'peer~bench' }), isContactDevice: async () => true },
    createPeerConnection: wrtcPeerConnectionFactory(() => {
      const audio = prepared
      prepared = new CallAudio(tone(hz, 1))
      return audio
    }),
    iceServers: async () => config.iceServers,
    hideMyIp: () => config.iceTransportPolicy === 'relay',
    deviceRecord: () => record.value,
    name: 'bench',
    loopbackOnly: config.iceTransportPolicy !== 'relay',
    callsPerPeer: 1000
  })
  await service.start()
  return { node, service, next }
}

/** RUNS calls from a to b through the call service; ms from place() to first audio at the caller. */
async function serviceCalls (config: CallRtcConfiguration): Promise<number[]> {
  const a = await callNode(config, 440)
  const b = await callNode(config, 1000)
  b.service.on((e) => { if (e.type === 'incoming') void e.call.accept() })
  const target = [{ peerId: b.node.peerId, addrs: b.node.getMultiaddrs().map(m => multiaddr(m.toString())) }]
  // A contact's connection is usually up already (messages); it is here too.
  await a.node.dial(target[0].addrs)
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const audio = a.next()
    const start = performance.now()
    const call = await a.service.place(target, { account: '', handle: 'bob~bench', contact: true })
    times.push(await waitAudio(audio) - start)
    call.hangUp()
    while (a.service.active.length > 0 || b.service.active.length > 0) await new Promise(resolve => setTimeout(resolve, 5))
    audio.stop()
  }
  await a.service.stop()
  await b.service.stop()
  await a.node.stop()
  await b.node.stop()
  return times
}

/** RUNS bare RTCPeerConnection pairs with in-process signalling. */
async function barePairs (config: CallRtcConfiguration): Promise<number[]> {
  const { RTCPeerConnection } = loadWrtc()
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const audioA = new CallAudio(tone(440, 1))
    const audioB = new CallAudio(tone(1000, 1))
    const start = performance.now()
    // The options the daemon's calls use (the same bundling), from the same ICE configuration.
    const a = new RTCPeerConnection(peerConnectionOptions(config))
    const b = new RTCPeerConnection(peerConnectionOptions(config))
    audioA.attach(a)
    audioB.attach(b)
    await signalPair(a, b, (c) => config.iceTransportPolicy === 'relay' || / (127\.\d+\.\d+\.\d+) /.test(c))
    times.push(await waitAudio(audioA) - start)
    audioA.stop()
    audioB.stop()
    a.close()
    b.close()
  }
  return times
}

async function measure (config: CallRtcConfiguration): Promise<Record<string, unknown>> {
  const bare = await barePairs(config)
  const call = await serviceCalls(config)
  const c = summary(call)
  const b = summary(bare)
  return { call: c, bare: b, ratio: Math.round(c.medianMs / b.medianMs * 100) / 100 }
}

/** `--only node` or `--only browser` runs one part. */
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined
let direct: Record<string, unknown> | string = 'skipped'
let turn: Record<string, unknown> | string = only === 'browser' ? 'skipped' : `skipped: ${TURNSERVER} not found`
if (only !== 'browser') direct = await measure({ iceServers: [], iceTransportPolicy: 'all' })
if (only !== 'browser' && existsSync(TURNSERVER)) {
  const dir = await mkdtemp(join(tmpdir(), 'starling-bench-call-'))
  const coturn = await startCoturn(dir)
  try {
    const username = `${Math.floor(Date.now() / 1000) + 3600}:bench`
    const credential = createHmac('sha1', coturn.secret).update(username).digest('base64')
    turn = await measure({ iceServers: [{ urls: [coturn.url], username, credential }], iceTransportPolicy: 'relay' })
  } finally {
    await coturn.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
let browser: Record<string, unknown> | string = 'skipped'
if (only !== 'node') {
  const dir = await mkdtemp(join(tmpdir(), 'starling-bench-call-web-'))
  const coturn = existsSync(TURNSERVER) ? await startCoturn(dir) : undefined
  try {
    browser = await browserCallBench(dir, coturn)
  } catch (err) {
    browser = `failed: ${(err as Error).message}`
  } finally {
    await coturn?.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
process.stdout.write(JSON.stringify({
  what: 'ms from pressing call (callee accepts at once) to the first remote media at the caller; node: Node to Node (@roamhq/wrtc), first audio; browser: tab to tab (Chromium, fake devices), first decoded video frame and first audio',
  date: new Date().toISOString().slice(0, 10),
  node: { direct, turn },
  browser,
  targets: { medianMs: 500, ratio: 1.5 }
}, null, 2) + '\n')
process.exit(0)
