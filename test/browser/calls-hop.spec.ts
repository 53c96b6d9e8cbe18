/**
 * Why one message over a relayed libp2p connection between two tabs took
 * 30-150 ms in the call tests and bench (issue 12, item 7): the harness
 * routed every WebSocket of a page through Playwright (`routeWebSocket`
 * with `connectToServer()`), so each frame went from the page to the test
 * process and back before it left, twice per hop through the relay.
 * A page's loopback WebSocket must be its own: this checks it by counting
 * round trips, not time. An echo server in a worker thread counts the
 * messages it answers; the test's own thread (where Playwright runs)
 * blocks on that counter while the page sends, so a page whose frames
 * pass through this thread gets none answered.
 */
import assert from 'node:assert/strict'
import { Worker } from 'node:worker_threads'
import { Browser, NOT_LOOPBACK_WS } from './browser.js'

const ROUND_TRIPS = 20

/**
 * A worker serving a blank page on 127.0.0.1 and echoing small WebSocket
 * messages (one frame each, under 126 bytes), adding one to `counter[0]`
 * per echo. Written out by hand: the project has no WebSocket server
 * package of its own.
 */
const ECHO_WORKER = `
const { workerData, parentPort } = require('node:worker_threads')
const http = require('node:http')
const { createHash } = require('node:crypto')
const counter = new Int32Array(workerData)
const server = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><title>echo</title>') })
server.on('upgrade', (req, socket) => {
  const accept = createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64')
  socket.setNoDelay(true)
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: ' + accept + '\\r\\n\\r\\n')
  let buf = Buffer.alloc(0)
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk])
    while (buf.length >= 6) {
      const opcode = buf[0] & 0x0f
      const len = buf[1] & 0x7f
      if (len >= 126) { socket.destroy(); return }
      if (buf.length < 6 + len) return
      const mask = buf.subarray(2, 6)
      const payload = Buffer.from(buf.subarray(6, 6 + len)).map((b, i) => b ^ mask[i % 4])
      buf = buf.subarray(6 + len)
      if (opcode === 8) { socket.end(); return }
      socket.write(Buffer.concat([Buffer.from([0x80 | opcode, len]), payload]))
      Atomics.add(counter, 0, 1)
      Atomics.notify(counter, 0)
    }
  })
  socket.on('error', () => {})
})
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port))
parentPort.on('message', () => { server.closeAllConnections(); server.close() })
`

describe('browser: a page\'s loopback WebSockets are not carried through the test process', function () {
  this.timeout(120_000)
  let browser: Browser | undefined
  let worker: Worker | undefined

  after(async () => {
    await browser?.close()
    worker?.postMessage('stop')
    await worker?.terminate()
  })

  it('routes only WebSocket URLs that leave loopback', () => {
    for (const url of ['ws://127.0.0.1:4001/', 'ws://127.0.0.1', 'wss://localhost:443/x', 'ws://[::1]:3/', 'ws://127.8.9.10:80?a']) {
      assert.equal(NOT_LOOPBACK_WS.test(url), false, url)
    }
    for (const url of ['ws://127.0.0.1.example.org/', 'ws://10.0.0.1/', 'wss://example.org/', 'ws://127.0.0.1:80@example.org/', 'ws://localhost.example.org/']) {
      assert.equal(NOT_LOOPBACK_WS.test(url), true, url)
    }
  })

  it(`a page gets ${ROUND_TRIPS} echoes from a loopback server while this thread is blocked`, async () => {
    const counter = new Int32Array(new SharedArrayBuffer(4))
    worker = new Worker(ECHO_WORKER, { eval: true, workerData: counter.buffer })
    const port = await new Promise<number>((resolve, reject) => {
      worker?.once('message', resolve)
      worker?.once('error', reject)
    })
    browser = await Browser.launch()
    const page = await (await browser.profile()).newPage()
    await page.goto(`http://127.0.0.1:${port}/`)
    // Opening waits for Playwright's decision on the socket (made in this thread, which is free here).
    await page.evaluate(async ({ port, n }) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject })
      let left = n
      ws.onmessage = () => { if (--left > 0) ws.send('ping') }
      ws.send('ping')
    }, { port, n: ROUND_TRIPS })
    // Blocks this thread until the worker has answered them all; the bound only ends a test that would
    // otherwise hang (a routed page gets no echo while this thread waits).
    const until = performance.now() + 60_000
    let seen = Atomics.load(counter, 0)
    while (seen < ROUND_TRIPS && performance.now() < until) {
      Atomics.wait(counter, 0, seen, until - performance.now())
      seen = Atomics.load(counter, 0)
    }
    assert.equal(seen, ROUND_TRIPS, 'every round trip done without the test process')
    assert.deepEqual(browser.outside, [])
  })
})
