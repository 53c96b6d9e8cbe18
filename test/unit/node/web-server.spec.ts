/**
 * The web app's server (node/web-server.ts): serves the built app and its
 * configuration under a CSP, and nothing outside the app's directory however
 * the path is spelled (dot segments, encoded ones, backslashes); only GET
 * and HEAD. The kept ports (node/web-ports.ts) read back, and a damaged
 * file counts as none.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CONTENT_SECURITY_POLICY, startWebServer } from '../../../node/web-server.js'
import type { WebServer } from '../../../node/web-server.js'
import { readWebPorts, writeWebPorts, WEB_PORTS_FILE } from '../../../node/web-ports.js'

/** A raw request (the path sent exactly as given, as an attacker would); `host` '': no Host header. */
async function get (port: number, path: string, method = 'GET', host?: string): Promise<{ status: number, body: string, headers: Record<string, unknown> }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, ...(host === '' ? { setHost: false } : host != null ? { headers: { host } } : {}) }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body, headers: res.headers }) })
    })
    req.on('error', reject)
    req.end()
  })
}

describe('node: the web app server', function () {
  let dir: string
  let server: WebServer

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'starling-web-'))
    await mkdir(join(dir, 'dist'))
    await writeFile(join(dir, 'dist', 'index.html'), '<!doctype html><title>app</title>')
    await writeFile(join(dir, 'dist', 'app.js'), 'export {}')
    await writeFile(join(dir, 'secret.json'), '{"key":"outside the app"}')
    await writeFile(join(dir, 'dist', 'notes.sh'), 'echo unknown type')
    // Links inside the app's directory that lead out of it (a file, and a directory).
    await symlink(join(dir, 'secret.json'), join(dir, 'dist', 'linked.json'))
    await symlink(dir, join(dir, 'dist', 'up'))
    server = await startWebServer({ root: join(dir, 'dist'), host: '127.0.0.1', port: 0, config: { relays: ['/ip4/127.0.0.1/tcp/1/ws/p2p/x'] } })
  })

  after(async () => {
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('serves the app and its configuration under a CSP that loads nothing from elsewhere', async () => {
    const index = await get(server.port, '/')
    assert.equal(index.status, 200)
    assert.match(index.body, /<title>app<\/title>/)
    assert.equal(index.headers['content-security-policy'], CONTENT_SECURITY_POLICY)
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'self'/)
    assert.equal(index.headers['x-content-type-options'], 'nosniff')
    assert.equal((await get(server.port, '/app.js')).headers['content-type'], 'text/javascript; charset=utf-8')
    assert.deepEqual(JSON.parse((await get(server.port, '/config.json')).body), { relays: ['/ip4/127.0.0.1/tcp/1/ws/p2p/x'] })
  })

  it('serves nothing outside the app\'s directory, however the path is spelled, and only GET and HEAD', async () => {
    for (const path of ['/../secret.json', '/%2e%2e/secret.json', '/%2E%2E%2Fsecret.json', '/..%2fsecret.json', '/..%5csecret.json', '/dist/../../secret.json', '//../secret.json', '/notes.sh', '/missing.js']) {
      const res = await get(server.port, path)
      assert.equal(res.status, 404, path)
      assert.doesNotMatch(res.body, /outside the app/, path)
    }
    assert.equal((await get(server.port, '/', 'POST')).status, 405)
    assert.equal((await get(server.port, '/', 'HEAD')).status, 200)
  })

  it('follows no link out of the app\'s directory', async () => {
    for (const path of ['/linked.json', '/up/secret.json']) {
      const res = await get(server.port, path)
      assert.equal(res.status, 404, path)
      assert.doesNotMatch(res.body, /outside the app/, path)
    }
  })

  it('answers a malformed path with an error and keeps serving', async () => {
    for (const path of ['/%', '/%E0%A4%A', '/index.html%00.js', '/%00']) {
      const res = await get(server.port, path)
      assert.ok(res.status >= 400 && res.status < 500, `${path}: ${res.status}`)
    }
    assert.equal((await get(server.port, '/')).status, 200)
  })

  it('refuses a request for another host name (a page of another site rebinding its name to 127.0.0.1)', async () => {
    for (const host of ['attacker.example', `attacker.example:${server.port}`, `127.0.0.1.attacker.example:${server.port}`, '']) {
      const res = await get(server.port, '/config.json', 'GET', host)
      // No Host header at all: Node's server answers 400 itself.
      assert.equal(res.status, host === '' ? 400 : 421, host)
      assert.doesNotMatch(res.body, /relays/, host)
    }
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `[::1]:${server.port}`]) {
      assert.equal((await get(server.port, '/config.json', 'GET', host)).status, 200, host)
    }
  })

  it('the ports npm start keeps read back; a damaged file counts as none', async () => {
    assert.deepEqual(await readWebPorts(dir), { http: 0, tcp: 0, ws: 0 })
    await writeWebPorts(dir, { http: 8123, tcp: 8124, ws: 8125 })
    assert.deepEqual(await readWebPorts(dir), { http: 8123, tcp: 8124, ws: 8125 })
    await writeFile(join(dir, WEB_PORTS_FILE), '{"http": "8123; rm -rf /", "tcp": 70000, "ws": -1')
    assert.deepEqual(await readWebPorts(dir), { http: 0, tcp: 0, ws: 0 })
    await writeFile(join(dir, WEB_PORTS_FILE), '{"http": 1.5, "tcp": 70000, "ws": 9000}')
    assert.deepEqual(await readWebPorts(dir), { http: 0, tcp: 0, ws: 9000 })
  })
})
