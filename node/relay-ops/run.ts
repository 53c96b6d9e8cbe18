/**
 * What `starling relay` does: reads the config file and the flags, starts
 * the relay with its metrics and health endpoints, logs what happens, and
 * on SIGTERM or SIGINT stops gracefully (the health check turns not-ready
 * at once; the stores under way finish and their receipts are written;
 * then the node and the stores close). Also `relay init` and `relay status`.
 */
import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { enable } from '@libp2p/logger'
import { RELAY_DATA_LIMIT_BYTES, RELAY_DURATION_LIMIT_MS, RELAY_MAX_CONNECTIONS, RELAY_MAX_RESERVATIONS } from '../../src/net/constants.js'
import { RELAY_MAX_RESERVATIONS_PER_SOURCE } from '../../src/net/reservation-limits.js'
import { MAX_CONNECTIONS_PER_SOURCE } from '../../src/net/connection-limits.js'
import { CommandError } from '../errors.js'
import type { Output } from '../cli/command.js'
import { startRelay } from '../relay.js'
import { RELAY_CONNECTION_MONITOR } from '../../src/peer/relay.js'
import { loadRelayConfig, mergeFlags } from './config.js'
import type { RelayConfigValues } from './config.js'
import { healthReport } from './health.js'
import { serveRoutes } from './http.js'
import type { Endpoint, Routes } from './http.js'
import { RelayLog } from './log.js'
import { RelayMetrics } from './metrics.js'
import { INIT_HEALTH_ADDRESS } from './options.js'
import { resolveRelaySettings } from './settings.js'
import type { RelaySettings } from './settings.js'
import { describeStatus, fetchStatus } from './status.js'
import { DEFAULT_CONFIG_FILE, relayConfigTemplate } from './template.js'

/**
 * Writes the commented default config to `file` (default {@link DEFAULT_CONFIG_FILE}), never over an existing file.
 *
 * @throws {CommandError} when the file exists or cannot be written
 */
export async function writeRelayConfig (file?: string): Promise<string> {
  const path = resolve(file ?? DEFAULT_CONFIG_FILE)
  try {
    // World-readable: the relay often runs as another user than the one who wrote it (systemd's DynamicUser,
    // a container's USER), and a config holds no secret (the TURN secret and the TLS key stay in files of their own).
    await writeFile(path, relayConfigTemplate(), { flag: 'wx', mode: 0o644 })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new CommandError(code === 'EEXIST' ? `${path} exists: move it away or name another file` : `${path}: ${code ?? (err as Error).message}`)
  }
  return path
}

async function optionValues (values: Record<string, unknown>): Promise<RelayConfigValues> {
  const file = typeof values.config === 'string' ? await loadRelayConfig(values.config) : {}
  return mergeFlags(file, values)
}

/** `starling relay status`: 0 when the relay is ready, 1 when it answers but is not. */
export async function relayStatus (values: Record<string, unknown>, out: Output): Promise<number> {
  const merged = await optionValues(values)
  const address = typeof merged.health === 'string' ? merged.health : INIT_HEALTH_ADDRESS
  const report = await fetchStatus(address)
  out.print({ event: 'status', ...report }, describeStatus(report))
  return report.ready ? 0 : 1
}

/** What a settings object says, for `--check` and the ready event. */
function summary (s: RelaySettings): Record<string, unknown> {
  return {
    dataDir: s.dataDir,
    listen: s.listen,
    announce: s.announce,
    peers: s.peers,
    tls: s.tls != null,
    turn: s.turn?.urls ?? [],
    retentionMs: s.limits.retentionMs,
    connectionMonitor: { ...RELAY_CONNECTION_MONITOR, ...s.connectionMonitor },
    metrics: s.metrics != null ? `${s.metrics.host}:${s.metrics.port}` : null,
    health: s.health != null ? `${s.health.host}:${s.health.port}` : null
  }
}

/** Starts the endpoints: one server per address (metrics and health may share one). */
async function startEndpoints (s: RelaySettings, routes: { metrics: Routes, health: Routes }): Promise<{ metrics?: string, health?: string, close(): Promise<void> }> {
  const servers: Endpoint[] = []
  const close = async (): Promise<void> => { await Promise.all(servers.map(async e => { await e.close() })) }
  try {
    const same = s.metrics != null && s.health != null && s.metrics.host === s.health.host && s.metrics.port === s.health.port && s.metrics.port !== 0
    if (same && s.metrics != null) {
      const both = await serveRoutes(s.metrics, { ...routes.metrics, ...routes.health })
      servers.push(both)
      return { metrics: `${both.url}/metrics`, health: `${both.url}/health`, close }
    }
    const metrics = s.metrics != null ? await serveRoutes(s.metrics, routes.metrics) : undefined
    if (metrics != null) servers.push(metrics)
    const health = s.health != null ? await serveRoutes(s.health, routes.health) : undefined
    if (health != null) servers.push(health)
    return { metrics: metrics != null ? `${metrics.url}/metrics` : undefined, health: health != null ? `${health.url}/health` : undefined, close }
  } catch (err) {
    await close()
    throw new CommandError(`could not serve metrics or health: ${(err as Error).message}`)
  }
}

/** `starling relay`: runs until `stopped` resolves. */
export async function runRelay (values: Record<string, unknown>, out: Output, stopped: Promise<void>): Promise<number> {
  const merged = await optionValues(values)
  const settings = await resolveRelaySettings(merged, out.json)
  if (values.check === true) {
    out.print({ event: 'config-ok', ...summary(settings) }, [`config OK: the relay would keep its data in ${settings.dataDir}`, ...settings.listen.map(a => `  listen ${a}`)])
    return 0
  }
  const log = new RelayLog(settings.logFormat, settings.logLevel)
  // Debug: libp2p's and Starling's own debug lines too (on stderr, in the debug module's format).
  if (settings.logLevel === 'debug' && process.env.DEBUG == null) enable('starling:*')
  const metrics = settings.metrics != null ? new RelayMetrics(settings.dataDir) : undefined
  // A test hook, as the daemon's STARLING_FETCH_INTERVAL_MS: how often linked relays reconcile.
  const interval = Number(process.env.STARLING_RELAY_SYNC_INTERVAL_MS)
  const startedAt = Date.now()
  const relay = await startRelay({
    dataDir: settings.dataDir,
    listen: settings.listen,
    announce: settings.announce,
    peers: settings.peers,
    limits: settings.limits,
    connectionMonitor: settings.connectionMonitor,
    tls: settings.tls,
    turn: settings.turn,
    metrics: metrics != null ? { metrics: metrics.libp2pMetrics(), onStoreRequest: (op, ms, status) => { metrics.observe(op, ms, status) } } : undefined,
    syncIntervalMs: Number.isSafeInteger(interval) && interval > 0 ? interval : undefined,
    onSync: (peer, result, stats) => {
      // Only exchanges that changed something at info: an operator sees catch-ups, not the quiet rounds.
      const level = result.envelopes.stored + result.deletes.tombstones === 0 ? 'debug' : 'info'
      log.write(level, {
        event: 'synced',
        peer: peer.toString(),
        envelopes: result.envelopes.stored,
        deletes: result.deletes.tombstones,
        removed: result.deletes.removed,
        complete: result.complete,
        requests: stats.requests,
        bytes: stats.bytesIn + stats.bytesOut
      }, `reconciled with ${peer.toString()}: ${result.envelopes.stored} envelopes, ${result.deletes.tombstones} deletes${result.complete ? '' : ' (more to come)'}`)
    }
  })
  metrics?.attach(relay)
  let stopping = false
  const listening = settings.listen.length
  let endpoints: Awaited<ReturnType<typeof startEndpoints>>
  try {
    endpoints = await startEndpoints(settings, {
      metrics: { '/metrics': async () => ({ status: 200, type: metrics?.contentType ?? 'text/plain', body: await metrics?.text() ?? '' }) },
      health: {
        '/health': async () => {
          const report = await healthReport(relay, { startedAt, now: Date.now(), listening, stopping })
          return { status: report.ready ? 200 : 503, type: 'application/json', body: JSON.stringify(report) + '\n' }
        },
        '/live': async () => ({ status: 200, type: 'text/plain', body: 'live\n' })
      }
    })
  } catch (err) {
    await relay.stop()
    throw err
  }
  const addrs = relay.node.getMultiaddrs().map(String)
  const { limits } = settings
  log.info({
    event: 'ready',
    role: 'relay',
    peerId: relay.node.peerId.toString(),
    multiaddrs: addrs,
    dataDir: settings.dataDir,
    linked: relay.relaySet.linked.map(r => r.peerId.toString()),
    turn: settings.turn?.urls ?? [],
    metrics: endpoints.metrics ?? null,
    health: endpoints.health ?? null,
    limits: {
      durationMs: RELAY_DURATION_LIMIT_MS,
      dataBytes: Number(RELAY_DATA_LIMIT_BYTES),
      retentionMs: relay.mailbox.store.retentionMs,
      storage: relay.mailbox.store.budgets,
      reservations: { max: limits.reservations?.max ?? RELAY_MAX_RESERVATIONS, maxPerSource: limits.reservations?.maxPerSource ?? RELAY_MAX_RESERVATIONS_PER_SOURCE },
      connections: { max: limits.connections?.max ?? RELAY_MAX_CONNECTIONS, maxPerSource: limits.connections?.maxPerSource ?? MAX_CONNECTIONS_PER_SOURCE },
      connectionMonitor: { ...RELAY_CONNECTION_MONITOR, ...settings.connectionMonitor }
    }
  }, [
    `relay ${relay.node.peerId.toString()} listening on:`,
    ...addrs.map(a => `  ${a}`),
    `daemons connect with: starling daemon --bootstrap ${addrs[0] ?? '<address>'}`,
    ...addrs.filter(a => a.includes('/webrtc-direct/')).slice(0, 1).map(a => `pages connect with: ${a}`),
    ...(endpoints.metrics != null ? [`metrics: ${endpoints.metrics}`] : []),
    ...(endpoints.health != null ? [`health:  ${endpoints.health}`] : [])
  ])
  // SIGHUP (`systemctl reload`, a certbot deploy hook): take renewed certificate files without a restart.
  const onHangup = (): void => {
    relay.reloadTls().then(
      changed => { log.info({ event: 'tls-reloaded', changed }, changed ? 'TLS certificate reloaded' : 'TLS certificate unchanged') },
      (err: Error) => { log.warn({ event: 'tls-reload-failed', message: err.message }, `TLS certificate kept: ${err.message}`) }
    )
  }
  process.on('SIGHUP', onHangup)
  await stopped
  process.off('SIGHUP', onHangup)
  stopping = true
  const inFlight = relay.mailbox.metrics().server.requests
  log.info({ event: 'stopping' }, 'stopping: finishing the stores under way')
  await relay.stop()
  await endpoints.close()
  const after = relay.mailbox.metrics().server.requests
  log.info({ event: 'stopped', answeredWhileStopping: after.put + after.fetch + after.delete - inFlight.put - inFlight.fetch - inFlight.delete }, 'relay stopped')
  return 0
}
