/**
 * `starling relay --config FILE`: the file format (JSON with comments),
 * its schema (errors name the file and the field), flags over the file,
 * and the commented default config `relay init` writes.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadRelayConfig, mergeFlags, parseRelayConfig, stripJsonComments } from '../../../node/relay-ops/config.js'
import { RELAY_OPTIONS } from '../../../node/relay-ops/options.js'
import { parseRetention, resolveRelaySettings } from '../../../node/relay-ops/settings.js'
import { relayConfigTemplate } from '../../../node/relay-ops/template.js'
import { writeRelayConfig } from '../../../node/relay-ops/run.js'
import { MAX_TOTAL_BYTES } from '../../../src/relay/index.js'

const PEER = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWB3iBrSxho5G5mEmScdJQ5PNT1CPXhbo9HHHQUFGLUNzh'

function refused (text: string, message: RegExp): void {
  assert.throws(() => parseRelayConfig('relay.jsonc', text), (err: Error) => {
    assert.equal(err.name, 'ConfigError')
    assert.match(err.message, message)
    return true
  })
}

describe('node/relay-ops: the relay\'s config file', () => {
  it('strips comments and trailing commas outside strings, keeping lines and columns', () => {
    const text = '{\n  // a comment, with "quotes"\n  "data": "/srv//x", /* inline */\n  "listen": ["/ip4/0.0.0.0/tcp/1",],\n}\n'
    const stripped = stripJsonComments(text)
    assert.equal(stripped.length, text.length)
    assert.deepEqual(stripped.split('\n').map(l => l.length), text.split('\n').map(l => l.length))
    assert.deepEqual(JSON.parse(stripped), { data: '/srv//x', listen: ['/ip4/0.0.0.0/tcp/1'] })
  })

  it('relay init\'s template names every option and parses to the defaults', async () => {
    const text = relayConfigTemplate()
    for (const option of RELAY_OPTIONS) assert.ok(text.includes(`"${option.name}"`), `${option.name} is in the template`)
    const values = parseRelayConfig('t.jsonc', text)
    assert.equal(values.metrics, '127.0.0.1:9464')
    assert.equal(values.health, '127.0.0.1:9465')
    const settings = await resolveRelaySettings(values, false)
    assert.equal(settings.limits.storage?.maxTotalBytes, MAX_TOTAL_BYTES)
    assert.equal(settings.limits.retentionMs, 30 * 86_400_000)
    assert.deepEqual(settings.metrics, { host: '127.0.0.1', port: 9464 })
    assert.equal(settings.logFormat, 'json')
    assert.deepEqual(settings.connectionMonitor, { intervalMs: 30_000, timeoutMs: 30_000, closeOnFailure: true })
  })

  it('relay init never writes over an existing file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-config-'))
    try {
      const path = await writeRelayConfig(join(dir, 'r.jsonc'))
      assert.equal(await readFile(path, 'utf8'), relayConfigTemplate())
      await writeFile(path, '{}')
      await assert.rejects(writeRelayConfig(path), { name: 'CommandError', message: /exists/ })
      assert.equal(await readFile(path, 'utf8'), '{}')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('errors name the file and the field', () => {
    refused('{ "max-storag": "1GiB" }', /^relay\.jsonc: unknown field "max-storag"; did you mean "max-storage"\?/)
    refused('{ "max-storage": "1 GB" }', /^relay\.jsonc: max-storage: "1 GB" is not valid/)
    refused('{ "max-storage": 0 }', /^relay\.jsonc: max-storage: 0 is not valid/)
    refused('{ "listen": ["/ip4/0.0.0.0/tcp/1", "tcp://0.0.0.0:1"] }', /^relay\.jsonc: listen\[1\]: "tcp:\/\/0\.0\.0\.0:1" is not a multiaddr/)
    refused('{ "listen": "/ip4/0.0.0.0/tcp/1" }', /^relay\.jsonc: listen: must be a list/)
    refused('{ "peer": ["/ip4/127.0.0.1/tcp/4001"] }', /^relay\.jsonc: peer\[0\]: .* is not a relay's multiaddr ending in \/p2p\/<peer id>/)
    refused('{ "turn-url": ["http://example.org"] }', /^relay\.jsonc: turn-url\[0\]: .* is not a TURN URL/)
    refused('{ "retention": "30 days" }', /^relay\.jsonc: retention: "30 days" is not valid/)
    refused('{ "metrics": "9464" }', /^relay\.jsonc: metrics: "9464" is not valid/)
    refused('{ "log-level": "verbose" }', /^relay\.jsonc: log-level: "verbose" is not valid/)
    refused('[]', /^relay\.jsonc: must be a JSON object/)
    refused('{\n  "data": "x"\n  "listen": []\n}', /^relay\.jsonc: not JSON with comments: .*line 3/)
  })

  it('takes sizes as numbers or with units, and a peer with its id', async () => {
    const values = parseRelayConfig('r', JSON.stringify({ 'max-storage': '2GiB', 'max-storage-per-source': 1048576, 'rate-burst': 10, peer: [PEER], retention: '72h' }))
    assert.deepEqual(values, { 'max-storage': '2GiB', 'max-storage-per-source': '1048576', 'rate-burst': '10', peer: [PEER], retention: '72h' })
    const settings = await resolveRelaySettings(values, false)
    assert.equal(settings.limits.storage?.maxTotalBytes, 2 * 1024 ** 3)
    assert.equal(settings.limits.storage?.maxBytesPerSource, 1048576)
    assert.equal(settings.limits.rateLimit?.burst, 10)
    assert.equal(settings.limits.retentionMs, 72 * 3_600_000)
    assert.deepEqual(settings.peers, [PEER])
  })

  it('flags override the file; a repeatable flag replaces the file\'s list', () => {
    const file = parseRelayConfig('r', JSON.stringify({ listen: ['/ip4/0.0.0.0/tcp/1', '/ip4/0.0.0.0/tcp/2'], 'max-storage': '1GiB', data: '/a' }))
    const merged = mergeFlags(file, { listen: ['/ip4/127.0.0.1/tcp/3'], 'max-storage': '2GiB', json: true, config: 'r' })
    assert.deepEqual(merged, { listen: ['/ip4/127.0.0.1/tcp/3'], 'max-storage': '2GiB', data: '/a' })
  })

  it('a retention outside 1h..365d, or not a duration, is refused by name', () => {
    assert.equal(parseRetention('1h'), 3_600_000)
    assert.throws(() => parseRetention('59m'), { name: 'UsageError', message: /--retention 59m is out of range/ })
    assert.throws(() => parseRetention('366d'), { name: 'UsageError' })
    assert.throws(() => parseRetention('1w'), { name: 'UsageError', message: /not a duration/ })
  })

  it('the connection monitor: durations within their bounds and true/false, each refused by name otherwise', async () => {
    const values = parseRelayConfig('r', JSON.stringify({ 'ping-interval': '1m', 'ping-timeout': '45s', 'ping-close': false }))
    assert.deepEqual(values, { 'ping-interval': '1m', 'ping-timeout': '45s', 'ping-close': 'false' })
    assert.deepEqual((await resolveRelaySettings(values, false)).connectionMonitor, { intervalMs: 60_000, timeoutMs: 45_000, closeOnFailure: false })
    assert.deepEqual((await resolveRelaySettings({}, false)).connectionMonitor, {})
    refused('{ "ping-interval": 30 }', /^relay\.jsonc: ping-interval: 30 is not valid/)
    refused('{ "ping-timeout": "30 s" }', /^relay\.jsonc: ping-timeout: "30 s" is not valid/)
    refused('{ "ping-close": "no" }', /^relay\.jsonc: ping-close: "no" is not valid/)
    await assert.rejects(resolveRelaySettings({ 'ping-interval': '0s' }, false), { name: 'UsageError', message: /--ping-interval 0s is out of range \(at least 1s, at most 1h\)/ })
    await assert.rejects(resolveRelaySettings({ 'ping-timeout': '11m' }, false), { name: 'UsageError', message: /--ping-timeout 11m is out of range/ })
    await assert.rejects(resolveRelaySettings({ 'ping-close': 'yes' }, false), { name: 'UsageError', message: /--ping-close yes: true or false/ })
  })

  it('a ping timeout longer than the interval is refused: it would not apply to a live connection and piles pings up on a dead one', async () => {
    await assert.rejects(resolveRelaySettings({ 'ping-interval': '1s', 'ping-timeout': '10m' }, false), { name: 'UsageError', message: /^--ping-timeout 10m is longer than --ping-interval 1s: .*at most 1s$/ })
    await assert.rejects(resolveRelaySettings({ 'ping-interval': '10s' }, false), { name: 'UsageError', message: /^--ping-timeout 30s \(the default\) is longer than --ping-interval 10s/ })
    await assert.rejects(resolveRelaySettings({ 'ping-timeout': '31s' }, false), { name: 'UsageError', message: /^--ping-timeout 31s is longer than --ping-interval 30s/ })
    assert.deepEqual((await resolveRelaySettings({ 'ping-interval': '45s' }, false)).connectionMonitor, { intervalMs: 45_000 })
    assert.deepEqual((await resolveRelaySettings({ 'ping-interval': '1s', 'ping-timeout': '1s' }, false)).connectionMonitor, { intervalMs: 1000, timeoutMs: 1000 })
  })

  it('a missing or oversized file is a ConfigError naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-config-'))
    try {
      await assert.rejects(loadRelayConfig(join(dir, 'nope.jsonc')), (err: Error) => err.name === 'ConfigError' && err.message.includes('nope.jsonc: ENOENT'))
      await writeFile(join(dir, 'big.jsonc'), `{"data": "${'x'.repeat(2 * 1024 * 1024)}"}`)
      await assert.rejects(loadRelayConfig(join(dir, 'big.jsonc')), { name: 'ConfigError', message: /too large/ })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
