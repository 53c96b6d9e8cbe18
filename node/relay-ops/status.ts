/**
 * `starling relay status`: asks a running relay's health endpoint how it is
 * (the address from --health, else the config file's `health`, else the
 * one `relay init` writes) and prints the report.
 */
import { CommandError } from '../errors.js'
import type { HealthReport } from './health.js'

/** How long status waits for the relay's answer. */
export const STATUS_TIMEOUT_MS = 10_000
/** The largest report read (a report is under 10 KiB: many addresses at most). */
const MAX_REPORT_BYTES = 1024 * 1024

/**
 * The relay's health report from `address` (host:port).
 *
 * @throws {CommandError} when nothing answers there, or the answer is not a report
 */
export async function fetchStatus (address: string): Promise<HealthReport> {
  const url = `http://${address}/health`
  let res: Response
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS), redirect: 'error' })
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message
    throw new CommandError(`no relay answers at ${url} (${cause}): is it running, with --health ${address}?`)
  }
  const text = await res.text()
  if (text.length > MAX_REPORT_BYTES) throw new CommandError(`${url} answered ${text.length} bytes: not a relay's health report`)
  let report: HealthReport
  try {
    report = JSON.parse(text) as HealthReport
  } catch {
    throw new CommandError(`${url} answered HTTP ${res.status} without a health report`)
  }
  if (typeof report !== 'object' || report == null || typeof report.ready !== 'boolean' || typeof report.checks !== 'object') {
    throw new CommandError(`${url} answered HTTP ${res.status} without a health report`)
  }
  return report
}

/** The report as lines for a person. */
export function describeStatus (report: HealthReport): string[] {
  const yes = (b: boolean | null): string => b == null ? 'n/a' : b ? 'yes' : 'NO'
  return [
    `relay ${String(report.peerId)}: ${report.ready ? 'ready' : 'NOT READY'}${report.checks.stopping ? ' (stopping)' : ''}`,
    `  listeners bound: ${yes(report.checks.listeners)}, store open: ${yes(report.checks.store)}, linked relay connected: ${yes(report.checks.linked)} (${report.linked.connected} of ${report.linked.configured})`,
    `  up ${report.uptimeSeconds} s; ${report.connections} connections, ${report.reservations} reservations`,
    `  ${report.envelopes} envelopes in ${report.mailboxes} mailboxes, ${report.storageBytes} of ${report.storageBudgetBytes} bytes of storage`,
    ...report.multiaddrs.map(a => `  ${String(a)}`)
  ]
}
