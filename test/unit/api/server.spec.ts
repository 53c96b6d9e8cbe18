import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { ApiServer, MAX_REQUEST_BYTES, MAX_STREAM_IN_FLIGHT, RpcCode } from '../../../node/api/server.js'
import type { ApiMethod } from '../../../node/api/server.js'

const TOKEN = 'a'.repeat(64)
/** Round trips on another connection that give the server its chances to do what it must not. */
const ROUND_TRIPS = 20
/** CPU a 32 MiB request line may cost: linear reading takes a few hundred ms, the quadratic search took ~10 s. */
const LONG_LINE_CPU_MS = 3000

interface Reply {
  jsonrpc: string
  id: unknown
  result?: unknown
  error?: { code: number, message: string, data?: { name?: string } }
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** What the running test waits for, named when mocha's timeout ends the test. */
let waitingFor: string | undefined
/** Bumped after each test: a wait left over from a test that timed out stops asking. */
let testEpoch = 0

/**
 * Resolves once `ready()` is true, asking every `everyMs`. It has no deadline
 * of its own: a busy machine makes a wait longer, never wrong. Mocha's test
 * timeout ends a wait for something that never comes (afterEach names it).
 */
async function until (ready: () => boolean, what: string, everyMs = 2): Promise<void> {
  const epoch = testEpoch
  waitingFor = what
  while (!ready()) {
    if (epoch !== testEpoch) throw new Error(`abandoned the wait for ${what}`)
    await sleep(everyMs)
  }
  waitingFor = undefined
}

/** A promise the test resolves by hand. */
function gate (): { promise: Promise<void>, open: () => void } {
  let open!: () => void
  const promise = new Promise<void>(resolve => { open = resolve })
  return { promise, open }
}

/**
 * A raw `/rpc/stream` connection: lines written as they come, replies
 * collected in arrival order, and the moment the response ended.
 */
class StreamClient {
  readonly replies: Reply[] = []
  status?: number
  headers?: IncomingHttpHeaders
  responseEnded = false
  error?: Error
  /** How many replies had arrived when the response ended. */
  repliesAtEnd = -1
  private readonly req: ClientRequest

  constructor (url: string, token: string | null) {
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' }
    if (token != null) headers.authorization = `Bearer ${token}`
    this.req = httpRequest(new URL('/rpc/stream', url), { method: 'POST', headers })
    this.req.on('error', err => { this.error = err })
    this.req.on('response', res => {
      this.status = res.statusCode
      this.headers = res.headers
      res.setEncoding('utf8')
      let buffered = ''
      res.on('data', (chunk: string) => {
        if (res.statusCode !== 200) return
        buffered += chunk
        let nl: number
        while ((nl = buffered.indexOf('\n')) >= 0) {
          this.replies.push(JSON.parse(buffered.slice(0, nl)) as Reply)
          buffered = buffered.slice(nl + 1)
        }
      })
      res.on('end', () => {
        assert.equal(buffered, '', 'the response ended in the middle of a line')
        this.repliesAtEnd = this.replies.length
        this.responseEnded = true
      })
      res.on('error', err => { this.error = err })
    })
    this.req.flushHeaders()
  }

  write (data: string | Uint8Array): void {
    this.req.write(data)
  }

  call (id: unknown, method: string, params: Record<string, unknown> = {}): void {
    this.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n')
  }

  end (): void {
    this.req.end()
  }

  destroy (): void {
    this.req.destroy()
  }

  async waitForReplies (n: number): Promise<void> {
    await until(() => this.replies.length >= n || this.error != null, `${n} replies (have ${this.replies.length})`)
    if (this.error != null) throw this.error
  }

  async waitForResponseEnd (): Promise<void> {
    await until(() => this.responseEnded || this.error != null, 'the response to end')
    if (this.error != null) throw this.error
  }

  async waitForStatus (): Promise<number> {
    await until(() => this.status != null || this.error != null, 'response headers')
    if (this.error != null) throw this.error
    return this.status as number
  }

  byId (id: unknown): Reply {
    const found = this.replies.filter(r => r.id === id)
    assert.equal(found.length, 1, `exactly one reply for id ${String(id)}`)
    return found[0]
  }
}

class NamedError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'UnknownHandleError'
  }
}

describe('api: ApiServer', () => {
  let server: ApiServer | undefined
  let url: string
  const clients: StreamClient[] = []
  /** Gates the `wait` method blocks on, and how many `wait` calls run now / ran at most / started. */
  let waitGate = gate()
  /** Gates that `hold` calls wait on, by name: the test decides when each call finishes. */
  let holds = new Map<string, { promise: Promise<void>, open: () => void }>()
  function held (name: string): { promise: Promise<void>, open: () => void } {
    const found = holds.get(name) ?? gate()
    holds.set(name, found)
    return found
  }
  let running = 0
  let maxRunning = 0
  let started = 0
  let bigCalls = 0

  const methods: Record<string, ApiMethod> = {
    echo: async (params) => params,
    size: async (params) => (params.s as string).length,
    add: async (params) => (params.a as number) + (params.b as number),
    nothing: async () => undefined,
    hold: async (params) => {
      await held(params.gate as string).promise
      return { released: params.gate }
    },
    fail: async (params) => { throw new NamedError(`no such handle ${String(params.handle)}`) },
    big: async () => {
      bigCalls++
      return 'x'.repeat(64 * 1024)
    },
    wait: async (params) => {
      started++
      running++
      maxRunning = Math.max(maxRunning, running)
      try {
        await waitGate.promise
      } finally {
        running--
      }
      return params.n
    }
  }

  async function start (): Promise<void> {
    server = new ApiServer({ host: '127.0.0.1', port: 0, token: TOKEN, methods })
    url = await server.start()
  }

  /** `n` calls on /rpc, one after the other: each answer shows the server took its turns meanwhile. */
  async function roundTrips (n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${url}/rpc`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'nothing' })
      })
      assert.equal(res.status, 200)
      await res.json()
    }
  }

  /** Opens a stream with the right token, or `token` (null: no authorization header). */
  function open (token: string | null = TOKEN): StreamClient {
    const c = new StreamClient(url, token)
    clients.push(c)
    return c
  }

  beforeEach(async () => {
    waitGate = gate()
    holds = new Map()
    running = 0
    maxRunning = 0
    started = 0
    bigCalls = 0
    await start()
  })

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && waitingFor != null) console.log(`      (it was waiting for ${waitingFor})`)
    waitingFor = undefined
    testEpoch++
    waitGate.open()
    for (const h of holds.values()) h.open()
    for (const c of clients.splice(0)) c.destroy()
    await server?.stop()
    server = undefined
  })

  describe('/rpc/stream', () => {
    it('answers in completion order, matched by id', async () => {
      const c = open()
      assert.equal(await c.waitForStatus(), 200)
      assert.match(String(c.headers?.['content-type']), /application\/x-ndjson/)
      // 1 and 4 finish when the test opens their gates: 4 first, then 1.
      c.call(1, 'hold', { gate: 'one' })
      c.call('two', 'add', { a: 2, b: 3 })
      c.call(3, 'echo', { hello: 'wörld', n: [1, 2] })
      c.call(4, 'hold', { gate: 'four' })
      c.call(5, 'nothing')
      await c.waitForReplies(3)
      held('four').open()
      await c.waitForReplies(4)
      held('one').open()
      await c.waitForReplies(5)

      for (const r of c.replies) {
        assert.equal(r.jsonrpc, '2.0')
        assert.equal(r.error, undefined, JSON.stringify(r))
      }
      assert.deepEqual(c.byId(1).result, { released: 'one' })
      assert.equal(c.byId('two').result, 5)
      assert.deepEqual(c.byId(3).result, { hello: 'wörld', n: [1, 2] })
      assert.deepEqual(c.byId(4).result, { released: 'four' })
      assert.equal(c.byId(5).result, null)

      const order = c.replies.map(r => r.id)
      // The call written first finishes last; the fourth, written after the
      // fast ones, finishes after them.
      assert.equal(order[order.length - 1], 1, `order ${JSON.stringify(order)}`)
      assert.ok(order.indexOf(4) > order.indexOf('two') && order.indexOf(4) > order.indexOf(3), `order ${JSON.stringify(order)}`)
      assert.equal(c.responseEnded, false, 'the response stays open while the request body is open')
    })

    it('answers a slow call after a fast one written later, on one connection', async () => {
      const c = open()
      c.call('slow', 'hold', { gate: 'slow' })
      c.call('fast', 'echo', { x: 1 })
      await c.waitForReplies(1)
      assert.equal(c.replies[0].id, 'fast')
      assert.deepEqual(c.replies[0].result, { x: 1 })
      assert.equal(c.replies.length, 1, 'the slow call is not answered early')
      held('slow').open()
      await c.waitForReplies(2)
      assert.equal(c.replies[1].id, 'slow')
      assert.deepEqual(c.replies[1].result, { released: 'slow' })
    })

    it('answers bad lines with errors and keeps answering later lines', async () => {
      const c = open()
      c.write('this is not json\n')
      c.write('[{"jsonrpc":"2.0","id":1,"method":"echo"}]\n')
      c.write('42\n')
      c.write('null\n')
      c.write('\n   \n') // blank lines are skipped, not answered
      c.call(10, 'noSuchMethod')
      c.call(11, 'toString') // inherited from Object.prototype: not a method
      c.call(12, 'fail', { handle: 'bob' })
      c.write(JSON.stringify({ jsonrpc: '2.0', id: 13, method: 7 }) + '\n')
      c.write(JSON.stringify({ jsonrpc: '2.0', id: 14, method: 'echo', params: [1] }) + '\n')
      c.call(15, 'add', { a: 40, b: 2 })
      await c.waitForReplies(10)
      await sleep(50)
      assert.equal(c.replies.length, 10, `replies ${JSON.stringify(c.replies)}`)

      // Replies without a usable id carry id null; these four fail before any
      // method runs, so they complete (and are answered) in the order written.
      const anonymous = c.replies.filter(r => r.id === null)
      assert.deepEqual(anonymous.map(r => r.error?.code), [RpcCode.parse, RpcCode.invalidRequest, RpcCode.invalidRequest, RpcCode.invalidRequest])
      for (const r of anonymous) {
        assert.equal(r.jsonrpc, '2.0')
        assert.equal(r.result, undefined)
      }
      assert.equal(c.byId(10).error?.code, RpcCode.methodNotFound)
      assert.match(c.byId(10).error?.message ?? '', /noSuchMethod/)
      assert.equal(c.byId(11).error?.code, RpcCode.methodNotFound)
      assert.equal(c.byId(12).error?.code, RpcCode.failed)
      assert.equal(c.byId(12).error?.message, 'no such handle bob')
      assert.deepEqual(c.byId(12).error?.data, { name: 'UnknownHandleError' })
      assert.equal(c.byId(13).error?.code, RpcCode.invalidRequest)
      assert.equal(c.byId(14).error?.code, RpcCode.invalidParams)
      assert.equal(c.byId(15).result, 42)
      assert.equal(c.byId(15).error, undefined)

      // Still alive after all that.
      c.call(16, 'echo', { still: 'here' })
      await c.waitForReplies(11)
      assert.deepEqual(c.byId(16).result, { still: 'here' })
    })

    it('reassembles lines split across writes, including inside a UTF-8 character', async () => {
      const c = open()
      const line = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: { s: 'ünïcødé ✓ 🐦' } }) + '\n')
      const cut = line.indexOf(Buffer.from('🐦')) + 2 // in the middle of the 4-byte emoji
      c.write(line.subarray(0, cut))
      await sleep(30)
      assert.equal(c.replies.length, 0, 'no reply before the line is complete')
      c.write(line.subarray(cut))
      await c.waitForReplies(1)
      assert.deepEqual(c.byId(1).result, { s: 'ünïcødé ✓ 🐦' })
    })

    it(`runs at most MAX_STREAM_IN_FLIGHT (${MAX_STREAM_IN_FLIGHT}) calls at once, written in one go`, async () => {
      const extra = 100
      const total = MAX_STREAM_IN_FLIGHT + extra
      const c = open()
      let body = ''
      for (let n = 0; n < total; n++) body += JSON.stringify({ jsonrpc: '2.0', id: n, method: 'wait', params: { n } }) + '\n'
      c.write(body)
      await until(() => started >= MAX_STREAM_IN_FLIGHT, `${MAX_STREAM_IN_FLIGHT} calls to start (started ${started})`)
      await sleep(200) // give the server every chance to start more than it should
      assert.equal(maxRunning, MAX_STREAM_IN_FLIGHT, `calls running at once: ${maxRunning}`)
      assert.equal(started, MAX_STREAM_IN_FLIGHT)
      assert.equal(c.replies.length, 0)

      waitGate.open()
      await c.waitForReplies(total)
      assert.equal(started, total)
      assert.ok(maxRunning <= MAX_STREAM_IN_FLIGHT, `calls running at once: ${maxRunning}`)
      assert.equal(running, 0)
      const ids = c.replies.map(r => r.id as number).sort((a, b) => a - b)
      assert.deepEqual(ids, Array.from({ length: total }, (_, n) => n))
      for (const r of c.replies) assert.equal(r.result, r.id)
      await sleep(20)
      assert.equal(c.replies.length, total, 'no extra replies')
    })

    it('runs at most MAX_STREAM_IN_FLIGHT calls at once, written line by line; frees a slot per reply', async () => {
      const extra = 20
      const total = MAX_STREAM_IN_FLIGHT + extra
      const c = open()
      for (let n = 0; n < total; n++) c.call(n, 'wait', { n })
      await until(() => started >= MAX_STREAM_IN_FLIGHT, `${MAX_STREAM_IN_FLIGHT} calls to start (started ${started})`)
      await sleep(200)
      assert.equal(maxRunning, MAX_STREAM_IN_FLIGHT, `calls running at once: ${maxRunning}`)
      assert.equal(started, MAX_STREAM_IN_FLIGHT)

      // A fast call behind the queue waits for a slot too, then runs.
      c.call('fast', 'echo', { ok: true })
      await sleep(50)
      assert.equal(c.replies.length, 0)

      waitGate.open()
      await c.waitForReplies(total + 1)
      assert.equal(started, total)
      assert.ok(maxRunning <= MAX_STREAM_IN_FLIGHT, `calls running at once: ${maxRunning}`)
      assert.deepEqual(c.byId('fast').result, { ok: true })
      const ids = c.replies.filter(r => r.id !== 'fast').map(r => r.id as number).sort((a, b) => a - b)
      assert.deepEqual(ids, Array.from({ length: total }, (_, n) => n))
    })

    it('ends the response after the last reply once the request body ends', async () => {
      const c = open()
      c.call(1, 'hold', { gate: 'one' })
      c.call(2, 'echo', { a: 1 })
      // The last line has no newline: it still counts.
      c.write(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'hold', params: { gate: 'three' } }))
      c.end()
      await c.waitForReplies(1)
      assert.equal(c.responseEnded, false, 'the response must wait for the slow calls')
      held('three').open()
      await c.waitForReplies(2)
      assert.equal(c.responseEnded, false, 'the response must wait for the last slow call')
      held('one').open()
      await c.waitForResponseEnd()
      assert.equal(c.repliesAtEnd, 3)
      assert.deepEqual(c.replies.map(r => r.id), [2, 3, 1])
      assert.deepEqual(c.byId(3).result, { released: 'three' })
      assert.deepEqual(c.byId(1).result, { released: 'one' })
    })

    it('ends the response at once for an empty body', async () => {
      const c = open()
      c.end()
      await c.waitForResponseEnd()
      assert.equal(c.status, 200)
      assert.equal(c.repliesAtEnd, 0)
    })

    it('ends the response only after queued calls beyond MAX_STREAM_IN_FLIGHT are answered', async () => {
      const total = MAX_STREAM_IN_FLIGHT + 10
      const c = open()
      let body = ''
      for (let n = 0; n < total; n++) body += JSON.stringify({ jsonrpc: '2.0', id: n, method: 'wait', params: { n } }) + '\n'
      c.write(body)
      c.end()
      await until(() => started >= MAX_STREAM_IN_FLIGHT, 'calls to start')
      await sleep(100)
      assert.equal(c.responseEnded, false)
      assert.ok(maxRunning <= MAX_STREAM_IN_FLIGHT, `calls running at once: ${maxRunning}`)
      waitGate.open()
      await c.waitForResponseEnd()
      assert.equal(c.repliesAtEnd, total)
      assert.equal(started, total)
    })

    it(`reads a long line in linear time (32 MiB in under ${LONG_LINE_CPU_MS} ms of CPU)`, async () => {
      // Searching the whole buffer for a newline on every chunk took ~10 s here.
      // Measured in CPU time of this process (client and server), not wall-clock
      // time: other processes on a busy machine do not count against it.
      const cpuBefore = process.cpuUsage()
      const c = open()
      c.call(1, 'echo', { before: true })
      c.write('{"jsonrpc":"2.0","id":2,"method":"size","params":{"s":"')
      const mib = Buffer.alloc(1024 * 1024, 'x')
      for (let i = 0; i < 32; i++) c.write(mib)
      c.write('"}}\n')
      c.call(3, 'echo', { after: true })
      await c.waitForReplies(3)
      const cpu = process.cpuUsage(cpuBefore)
      const cpuMs = (cpu.user + cpu.system) / 1000
      console.log(`      32 MiB line: ${cpuMs.toFixed(0)} ms of CPU`)
      assert.equal(c.byId(2).result, 32 * 1024 * 1024)
      assert.deepEqual(c.byId(3).result, { after: true })
      assert.ok(cpuMs < LONG_LINE_CPU_MS, `${cpuMs.toFixed(0)} ms of CPU for a 32 MiB line`)
    })

    it('ends the stream on a line longer than MAX_REQUEST_BYTES; the server goes on', async () => {
      const c = open()
      c.call(1, 'wait', { n: 1 })
      await until(() => started === 1, 'the first call to start')
      const mib = Buffer.alloc(1024 * 1024, 'x')
      for (let i = 0; i <= MAX_REQUEST_BYTES / mib.length; i++) c.write(mib)
      await until(() => c.replies.length >= 1 || c.responseEnded || c.error != null, 'the stream to be cut')
      assert.deepEqual(c.replies, [{ jsonrpc: '2.0', id: null, error: { code: RpcCode.invalidRequest, message: 'request line too large' } }])
      await until(() => c.responseEnded || c.error != null, 'the connection to close')
      waitGate.open()
      await until(() => running === 0, 'the cut-off call to finish')
      await sleep(20)
      assert.equal(c.replies.length, 1, 'nothing written after the stream ended')
      const d = open()
      d.call(2, 'add', { a: 2, b: 2 })
      await d.waitForReplies(1)
      assert.equal(d.byId(2).result, 4)
    })

    it('starts no new calls while a client leaves its replies unread, and goes on once it reads', async () => {
      const total = 3000
      const req = httpRequest(new URL('/rpc/stream', url), { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson' } })
      let received = 0
      let buffered = ''
      const response = new Promise<IncomingMessage>(resolve => req.on('response', resolve))
      req.flushHeaders()
      let body = ''
      for (let n = 0; n < total; n++) body += JSON.stringify({ jsonrpc: '2.0', id: n, method: 'big' }) + '\n'
      req.end(body)
      const res = await response
      res.pause()
      // 3,000 replies of 64 KiB are 192 MiB: far more than the socket buffers hold.
      await until(() => bigCalls > 0, 'the first calls to start')
      // The server gets its chances to go on starting calls, counted in its own
      // turns (answers on another connection), not in wall-clock time: a slow
      // machine makes them take longer, never fewer. Without back-pressure, all
      // 3,000 calls run within them (checked against the code before the fix).
      await roundTrips(ROUND_TRIPS)
      const whilePaused = bigCalls
      assert.ok(whilePaused < total, `all ${total} calls ran while nobody read their replies`)
      assert.ok(whilePaused <= MAX_STREAM_IN_FLIGHT + 200, `${whilePaused} calls ran while nobody read`)
      await roundTrips(ROUND_TRIPS)
      assert.equal(bigCalls, whilePaused, 'calls went on starting while nobody read')
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buffered += chunk
        let nl: number
        while ((nl = buffered.indexOf('\n')) >= 0) {
          buffered = buffered.slice(nl + 1)
          received++
        }
      })
      res.resume()
      await until(() => received === total, `${total} replies (have ${received})`)
      assert.equal(bigCalls, total)
    })

    it('survives a client that disconnects with calls in flight', async () => {
      const c = open()
      c.call(1, 'wait', { n: 1 })
      await until(() => started === 1, 'the call to start')
      c.destroy()
      await sleep(20)
      waitGate.open()
      await until(() => running === 0, 'the call to finish')
      await sleep(20)
      // The server still works.
      const d = open()
      d.call(2, 'add', { a: 1, b: 1 })
      await d.waitForReplies(1)
      assert.equal(d.byId(2).result, 2)
    })
  })

  describe('/rpc', () => {
    it('answers one request', async () => {
      const res = await fetch(`${url}/rpc`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'add', params: { a: 1, b: 2 } })
      })
      assert.equal(res.status, 200)
      assert.deepEqual(await res.json(), { jsonrpc: '2.0', id: 7, result: 3 })
    })

    it('answers a throwing method with its error name', async () => {
      const res = await fetch(`${url}/rpc`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 'x', method: 'fail', params: { handle: 'carol' } })
      })
      assert.deepEqual(await res.json(), { jsonrpc: '2.0', id: 'x', error: { code: RpcCode.failed, message: 'no such handle carol', data: { name: 'UnknownHandleError' } } })
    })
  })

  describe('token and starling-received-at', () => {
    function assertReceivedAt (headers: { get: (name: string) => string | null | undefined }, before: number, after: number): void {
      const raw = headers.get('starling-received-at')
      assert.ok(raw != null, 'starling-received-at is present')
      assert.match(raw, /^\d+\.\d{3}$/, `starling-received-at ${raw}`)
      const at = Number(raw)
      assert.ok(at >= before - 5 && at <= after + 5, `starling-received-at ${raw} not in [${before}, ${after}] ± 5 ms`)
    }

    /** POSTs an echo call to /rpc with `authorization`; the response and the clock just before and after. */
    async function echoTimed (authorization?: string): Promise<{ res: Response, before: number, after: number }> {
      const before = Date.now()
      const headers: Record<string, string> = {}
      if (authorization != null) headers.authorization = authorization
      const res = await fetch(`${url}/rpc`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo' })
      })
      return { res, before, after: Date.now() }
    }

    for (const [label, authorization] of [['no token', undefined], ['a wrong token', `Bearer ${'b'.repeat(64)}`], ['a short token', 'Bearer abc'], ['a wrong scheme', `Basic ${TOKEN}`], ['the token without its scheme', TOKEN]] as const) {
      it(`/rpc refuses ${label} with 401`, async () => {
        const { res, before, after } = await echoTimed(authorization)
        assert.equal(res.status, 401)
        await res.text()
        assertReceivedAt(res.headers, before, after)
      })
    }

    for (const [label, token] of [['no token', null], ['a wrong token', 'b'.repeat(64)]] as const) {
      it(`/rpc/stream refuses ${label} with 401 and runs nothing`, async () => {
        const before = Date.now()
        const c = open(token)
        c.call(1, 'wait', { n: 1 })
        assert.equal(await c.waitForStatus(), 401)
        const after = Date.now()
        assertReceivedAt({ get: (name) => c.headers?.[name] as string | undefined }, before, after)
        await sleep(30)
        assert.equal(started, 0)
        assert.equal(c.replies.length, 0)
      })
    }

    it('stamps accepted /rpc and /rpc/stream responses too', async () => {
      const { res, before: sentAt, after: answeredAt } = await echoTimed(`Bearer ${TOKEN}`)
      assert.equal(res.status, 200)
      await res.json()
      assertReceivedAt(res.headers, sentAt, answeredAt)

      const before = Date.now()
      const c = open()
      assert.equal(await c.waitForStatus(), 200)
      const after = Date.now()
      assertReceivedAt({ get: (name) => c.headers?.[name] as string | undefined }, before, after)
    })
  })
})
