/**
 * A connection monitor that pings each connection at its own moment.
 * libp2p's monitor pings every connection in the same timer tick: on a
 * relay holding 2,000 users, every 30 s, 2,000 ping streams opened at once
 * held every store request behind them for hundreds of milliseconds (the
 * connections probe of bench:relay: p99 28 ms between bursts, 113–317 ms
 * with one in its window). Here a connection's first ping comes at a random
 * point of the interval after it is first seen, and then every interval,
 * so the pings spread evenly whatever the number of connections. What a
 * ping does is libp2p's: a `/ipfs/ping/1.0.0` stream (allowed on limited
 * connections), 32 random bytes echoed within the timeout, the round trip
 * kept as `connection.rtt`; a peer without the protocol counts as alive;
 * a failed ping closes the connection when asked. Every node runs it
 * (node.ts), relays, daemons and browser tabs alike: a round whose
 * connection has another ping under way (kad-dht pings the DHT servers it
 * adds to its routing table) waits for the next instead of failing.
 */
import { logger } from '@libp2p/logger'
import { byteStream } from '@libp2p/utils'
import type { Connection, MetricGroup, Metrics } from '@libp2p/interface'

const log = logger('starling:net:spread-monitor')

export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_LENGTH = 32
/** libp2p's monitor's metric (its AdaptiveTimeout's group): dashboards built on it keep working on relays. */
export const PING_METRIC = 'libp2p_connection_monitor_ping_time_milliseconds'
/** How often the monitor looks for connections due (ms): at most this late, and this is also the grain of the spread. */
export const SPREAD_TICK_MS = 500

export interface SpreadMonitorInit {
  getConnections: () => Connection[]
  intervalMs: number
  timeoutMs: number
  closeOnFailure: boolean
  /** A number in [0, 1) (injected in tests). */
  random?: () => number
  now?: () => number
  /** The node's metrics: each ping's time goes to {@link PING_METRIC} as `success` or `failure`. */
  metrics?: Metrics
}

/** Pings every connection once per interval, each at its own phase. */
export class SpreadMonitor {
  private readonly init: SpreadMonitorInit
  private readonly due = new WeakMap<Connection, number>()
  /** Connections with one of our pings under way: the ping protocol allows one outbound stream per connection. */
  private readonly inFlight = new WeakSet<Connection>()
  private timer?: ReturnType<typeof setInterval>
  private stopping = new AbortController()
  private readonly metric?: MetricGroup
  /**
   * Pings sent and failed since start, and rounds passed over because a ping
   * was already under way on the connection (for tests and metrics).
   */
  readonly counts = { pings: 0, failed: 0, busy: 0 }

  constructor (init: SpreadMonitorInit) {
    this.init = init
    this.metric = init.metrics?.registerMetricGroup(PING_METRIC)
  }

  /** The interval, the timeout and whether a failed ping closes the connection. */
  get settings (): { intervalMs: number, timeoutMs: number, closeOnFailure: boolean } {
    return { intervalMs: this.init.intervalMs, timeoutMs: this.init.timeoutMs, closeOnFailure: this.init.closeOnFailure }
  }

  start (): void {
    if (this.timer != null) return
    if (this.stopping.signal.aborted) this.stopping = new AbortController()
    this.timer = setInterval(() => { this.tick() }, Math.min(SPREAD_TICK_MS, this.init.intervalMs))
  }

  stop (): void {
    if (this.timer != null) clearInterval(this.timer)
    this.timer = undefined
    this.stopping.abort()
  }

  /** Pings the connections due now; a connection seen for the first time gets a random phase. */
  tick (): void {
    const now = (this.init.now ?? Date.now)()
    const random = this.init.random ?? Math.random
    for (const conn of this.init.getConnections()) {
      if (conn.status !== 'open') continue
      const due = this.due.get(conn)
      if (due == null) {
        this.due.set(conn, now + Math.floor(random() * this.init.intervalMs))
        continue
      }
      if (due > now) continue
      this.due.set(conn, due + this.init.intervalMs <= now ? now + this.init.intervalMs : due + this.init.intervalMs)
      // A second outbound ping stream fails with TooManyOutboundProtocolStreamsError,
      // which would close a live connection: ours still under way (a peer that
      // half-answers, a timeout as long as the interval) or another (kad-dht
      // pings its contacts) makes this round wait for the next.
      if (this.inFlight.has(conn) || pingUnderWay(conn)) {
        this.counts.busy++
        continue
      }
      void this.ping(conn)
    }
  }

  private async ping (conn: Connection): Promise<void> {
    this.counts.pings++
    this.inFlight.add(conn)
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.init.timeoutMs)])
    const began = Date.now()
    let start = began
    let stream
    try {
      stream = await conn.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
      const bs = byteStream(stream)
      start = Date.now()
      const sent = crypto.getRandomValues(new Uint8Array(PING_LENGTH))
      const [, got] = await Promise.all([bs.write(sent, { signal }), bs.read({ bytes: PING_LENGTH, signal })])
      if (!got.subarray().every((b, i) => b === sent[i])) throw new PingMismatchError('the ping came back different')
      conn.rtt = Date.now() - start
      await stream.close({ signal })
      this.metric?.update({ success: Date.now() - began })
    } catch (err) {
      stream?.abort(err as Error)
      if ((err as Error).name === 'UnsupportedProtocolError') {
        // The peer answered multistream-select: alive.
        conn.rtt = (Date.now() - start) / 2
        this.metric?.update({ success: Date.now() - began })
        return
      }
      // The node stopping (libp2p closes its connections before it says 'stop'), or
      // either side closing the connection, ended the ping: that says nothing about
      // the peer, and aborting would turn a graceful close into a reset.
      if (this.stopping.signal.aborted || conn.status !== 'open') return
      if ((err as Error).name === 'TooManyOutboundProtocolStreamsError') {
        // Another ping was being negotiated meanwhile: it says nothing about the peer.
        this.counts.busy++
        return
      }
      this.counts.failed++
      this.metric?.update({ failure: Date.now() - began })
      log('ping of %p failed: %s', conn.remotePeer, (err as Error).message)
      if (this.init.closeOnFailure) conn.abort(err as Error)
    } finally {
      this.inFlight.delete(conn)
    }
  }
}

/** Whether an outbound ping stream (anyone's) is open on `conn`. */
function pingUnderWay (conn: Connection): boolean {
  return conn.streams.some(s => s.direction === 'outbound' && s.protocol === PING_PROTOCOL)
}

export class PingMismatchError extends Error {
  override name = 'PingMismatchError'
}

/** What a node needs for the monitor: its connections and its start and stop events. */
interface MonitoredNode {
  getConnections: () => Connection[]
  status: string
  addEventListener: (type: 'start' | 'stop', listener: () => void) => void
}

const monitors = new WeakMap<object, SpreadMonitor>()

/**
 * Runs a {@link SpreadMonitor} for `node` while it runs, from libp2p-style
 * settings (see `connectionMonitorInit` in node.ts: the interval, a fixed
 * timeout, close on failure unless told not to). The node's own libp2p
 * monitor must be off (`connectionMonitor: { enabled: false }`).
 */
export function attachSpreadMonitor (node: MonitoredNode, settings: { pingInterval?: number, pingTimeout?: { maxTimeout?: number }, abortConnectionOnPingFailure?: boolean }, metrics?: Metrics): SpreadMonitor {
  const intervalMs = settings.pingInterval ?? 10_000
  const monitor = new SpreadMonitor({
    getConnections: () => node.getConnections(),
    intervalMs,
    timeoutMs: settings.pingTimeout?.maxTimeout ?? intervalMs,
    closeOnFailure: settings.abortConnectionOnPingFailure ?? true,
    metrics
  })
  node.addEventListener('start', () => { monitor.start() })
  node.addEventListener('stop', () => { monitor.stop() })
  if (node.status === 'started') monitor.start()
  monitors.set(node, monitor)
  return monitor
}

/** The spread monitor attached to `node`, if any. */
export function spreadMonitorOf (node: object): SpreadMonitor | undefined {
  return monitors.get(node)
}
