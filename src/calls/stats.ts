/**
 * Call quality from `getStats()` (W3C webrtc-stats): round-trip time of the
 * selected candidate pair, loss and jitter of inbound audio, the audio
 * level, the candidate types (relay means TURN carries the media), and an
 * estimated MOS from the ITU-T G.107 E-model in its simplified form.
 */
import type { CallPeerConnection } from './peer-connection.js'

/** What a call's quality indicator shows. */
export interface CallStats {
  /** Round-trip time of the selected pair, ms. */
  rttMs?: number
  /** Inbound audio jitter, ms. */
  jitterMs?: number
  /** Inbound audio packets lost, as a fraction of those expected. */
  loss?: number
  /** Inbound audio bytes so far. */
  audioBytesReceived: number
  /** Inbound audio level, 0..1 (0 when muted or silent). */
  audioLevel?: number
  /** Decoded inbound video frames so far. */
  framesDecoded: number
  /** Candidate types of the selected pair ('host', 'srflx', 'prflx', 'relay'). */
  localCandidateType?: string
  remoteCandidateType?: string
  /** Estimated mean opinion score, 1..4.5. */
  mos?: number
}

function num (v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

/**
 * MOS from delay, jitter and loss: R = 93.2 - Id - Ie, with the effective
 * one-way delay (rtt/2 + 2·jitter + 10 ms) and Opus's loss robustness
 * approximated by 2.5 R points per percent lost; then G.107's R→MOS map.
 */
export function estimateMos (rttMs: number, jitterMs: number, loss: number): number {
  const delay = rttMs / 2 + 2 * jitterMs + 10
  const id = delay < 160 ? delay / 40 : (delay - 120) / 10
  const r = Math.max(0, Math.min(100, 93.2 - id - loss * 100 * 2.5))
  const mos = 1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r)
  return Math.round(Math.max(1, Math.min(4.5, mos)) * 100) / 100
}

/** Reads a connection's stats into {@link CallStats}. */
export async function callStats (pc: Pick<CallPeerConnection, 'getStats'>): Promise<CallStats> {
  const entries = new Map<string, Record<string, unknown>>()
  const report = await pc.getStats()
  report.forEach((value, key) => { entries.set(key, value) })
  const out: CallStats = { audioBytesReceived: 0, framesDecoded: 0 }
  let pairId: string | undefined
  for (const e of entries.values()) {
    if (e.type === 'transport' && typeof e.selectedCandidatePairId === 'string') pairId = e.selectedCandidatePairId
  }
  for (const e of entries.values()) {
    if (pairId == null && e.type === 'candidate-pair' && e.nominated === true && e.state === 'succeeded') pairId = String(e.id)
    if (e.type !== 'inbound-rtp') continue
    if (e.kind === 'audio') {
      out.audioBytesReceived += num(e.bytesReceived) ?? 0
      const lost = num(e.packetsLost) ?? 0
      const received = num(e.packetsReceived) ?? 0
      if (lost + received > 0) out.loss = Math.max(0, lost) / (Math.max(0, lost) + received)
      const jitter = num(e.jitter)
      if (jitter != null) out.jitterMs = jitter * 1000
      const level = num(e.audioLevel)
      if (level != null) out.audioLevel = level
    } else if (e.kind === 'video') {
      out.framesDecoded += num(e.framesDecoded) ?? 0
    }
  }
  const pair = pairId != null ? entries.get(pairId) : undefined
  if (pair != null) {
    const rtt = num(pair.currentRoundTripTime)
    if (rtt != null) out.rttMs = rtt * 1000
    out.localCandidateType = entries.get(String(pair.localCandidateId))?.candidateType as string | undefined
    out.remoteCandidateType = entries.get(String(pair.remoteCandidateId))?.candidateType as string | undefined
  }
  if (out.rttMs != null) out.mos = estimateMos(out.rttMs, out.jitterMs ?? 0, out.loss ?? 0)
  return out
}
