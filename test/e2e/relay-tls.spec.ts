/**
 * A relay that terminates TLS itself (`--tls-cert`, `--tls-key`, a
 * `/tls/ws` listener), so that a page served over https, which may open
 * only `wss://`, reaches it, and the relay still sees each client's address
 * for its per-source limits (behind a reverse proxy everyone would be the
 * proxy). A page whose node has WebSockets only connects and pings; the
 * operator renews the certificate files and sends SIGHUP: the relay, same
 * process, serves the new certificate to every client that names the host,
 * and keeps the old one when the new files are broken. A key that does not
 * match its certificate stops the relay at start, naming the files.
 *
 * The certificates are self-signed (the browser is told to ignore that:
 * trust in a CA is not what is tested here).
 */
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { createCertificate } from '../../src/net/webrtc-direct/certificate.js'
import { eventually, Processes } from './harness.js'
import type { Running } from './harness.js'
import { openTestPage } from './webrtc-direct/browser.js'
import type { TestPage } from './webrtc-direct/browser.js'
import type { ConnectResult, PageTransport } from './webrtc-direct/page.js'

const DAY = 24 * 60 * 60_000

/** A fresh self-signed certificate and key, written to `dir`. */
async function writeCertificate (dir: string): Promise<{ certFile: string, keyFile: string, pem: string, key: string }> {
  const c = await createCertificate({ notBefore: Date.now() - DAY, notAfter: Date.now() + 30 * DAY })
  const certFile = join(dir, 'fullchain.pem')
  const keyFile = join(dir, 'privkey.pem')
  await writeFile(certFile, c.pem)
  await writeFile(keyFile, c.privateKey, { mode: 0o600 })
  return { certFile, keyFile, pem: c.pem, key: c.privateKey }
}

/** The SHA-256 fingerprint of the certificate the relay presents (`servername` sent as SNI, or none). */
async function servedFingerprint (port: number, servername?: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256
      socket.destroy()
      resolve(fingerprint)
    })
    socket.once('error', reject)
  })
}

function fingerprintOf (pem: string): string {
  return new X509Certificate(pem).fingerprint256
}

describe('a relay with a TLS certificate for wss://', function () {
  this.timeout(120_000)
  const procs = new Processes()
  let tab: TestPage

  before(async () => {
    tab = await openTestPage(resolve(import.meta.dirname, 'webrtc-direct/page.ts'), '() => globalThis.webrtcDirectTest != null', ['--ignore-certificate-errors'])
  })

  after(async () => {
    await tab?.close()
    await procs.stopAll()
  })

  async function connect (addr: string, transport: PageTransport): Promise<ConnectResult> {
    return await tab.page.evaluate(async ([a, t]) => {
      const test = (globalThis as unknown as { webrtcDirectTest: { connect(addr: string, transport: string): Promise<ConnectResult> } }).webrtcDirectTest
      return await test.connect(a, t)
    }, [addr, transport] as const)
  }

  async function event (relay: Running, name: string, after: number): Promise<Record<string, unknown>> {
    return await eventually(async () => relay.events.slice(after).find(e => e.event === name), 20_000, `the relay's ${name} event`)
  }

  it('serves wss:// to a page, and takes renewed certificate files on SIGHUP without a restart', async () => {
    const dir = await procs.tempDir('starling-tls-')
    const first = await writeCertificate(dir)
    const relay = await procs.start(['relay', '--listen', '/ip4/127.0.0.1/tcp/0/tls/ws', '--tls-cert', first.certFile, '--tls-key', first.keyFile, '--data', join(dir, 'relay')])
    const peerId = relay.ready.peerId as string
    const addr = (relay.ready.multiaddrs as string[]).find(a => a.includes('/tls/ws/'))
    assert.ok(addr != null, `no /tls/ws address in ${JSON.stringify(relay.ready.multiaddrs)}`)
    const port = Number(/\/tcp\/(\d+)\//.exec(addr)?.[1])
    assert.equal(await servedFingerprint(port, 'localhost'), fingerprintOf(first.pem))

    // A page names the host (SNI), as it does for any DNS name.
    const byName = `/dns4/localhost/tcp/${port}/tls/ws/p2p/${peerId}`
    assert.equal((await connect(byName, 'websockets')).peer, peerId)

    const renewed = await writeCertificate(dir)
    let seen = relay.events.length
    relay.proc.kill('SIGHUP')
    assert.equal((await event(relay, 'tls-reloaded', seen)).changed, true)
    assert.equal(await servedFingerprint(port, 'localhost'), fingerprintOf(renewed.pem), 'the renewed certificate is served')
    assert.equal(await servedFingerprint(port), fingerprintOf(first.pem), 'a client that names no host gets the certificate the relay started with')
    assert.equal((await connect(byName, 'websockets')).peer, peerId)

    await writeFile(first.certFile, 'not a certificate')
    seen = relay.events.length
    relay.proc.kill('SIGHUP')
    assert.match(String((await event(relay, 'tls-reload-failed', seen)).message), /fullchain\.pem/)
    assert.equal(await servedFingerprint(port, 'localhost'), fingerprintOf(renewed.pem), 'broken files change nothing')
    assert.equal(relay.proc.exitCode, null, 'the relay kept running')
    await procs.stop(relay)
  })

  it('refuses to start when the key is not the certificate\'s, naming the files', async () => {
    const dir = await procs.tempDir('starling-tls-')
    const a = await writeCertificate(dir)
    const other = await createCertificate({ notBefore: Date.now(), notAfter: Date.now() + DAY })
    await writeFile(a.keyFile, other.privateKey)
    const r = await procs.cli(['relay', '--listen', '/ip4/127.0.0.1/tcp/0/tls/ws', '--tls-cert', a.certFile, '--tls-key', a.keyFile, '--data', join(dir, 'relay'), '--json'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /fullchain\.pem and .*privkey\.pem do not make a TLS certificate/)
    const usage = await procs.cli(['relay', '--listen', '/ip4/127.0.0.1/tcp/0/ws', '--tls-cert', a.certFile, '--tls-key', a.keyFile, '--data', join(dir, 'relay')])
    assert.equal(usage.code, 2, '--tls-cert without a TLS listener is a usage error')
    const bare = await procs.cli(['relay', '--listen', '/ip4/127.0.0.1/tcp/0/tls/ws', '--data', join(dir, 'relay')])
    assert.equal(bare.code, 2, 'a TLS listener without a certificate is a usage error')
    assert.match(bare.stderr, /--tls-cert/)
  })
})
