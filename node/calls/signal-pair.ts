/**
 * Offer and answer between two RTCPeerConnections in one process, with
 * each side's ICE candidates held until the other side has the remote
 * description they belong to (a candidate added before it is refused, and
 * a relay candidate from TURN can be ready first on a busy machine). For
 * benchmarks and tests that need a bare pair beside a Starling call.
 */

/** The part of an RTCPeerConnection this needs (wrtc's and the browser's both fit). */
interface Side {
  addEventListener(type: 'icecandidate', listener: (e: { candidate: { candidate: string } | null }) => void): void
  addIceCandidate(candidate: unknown): Promise<void>
  createOffer(): Promise<unknown>
  createAnswer(): Promise<unknown>
  setLocalDescription(description: unknown): Promise<void>
  setRemoteDescription(description: unknown): Promise<void>
}

/** Connects `a` (offerer) and `b`; `keep` chooses which candidates are passed on (all by default). Returns every candidate passed. */
export async function signalPair (a: Side, b: Side, keep: (candidate: string) => boolean = () => true): Promise<string[]> {
  const passed: string[] = []
  const wire = (from: Side, to: Side): () => Promise<void> => {
    let ready = false
    const held: unknown[] = []
    from.addEventListener('icecandidate', (e) => {
      if (e.candidate == null || !keep(e.candidate.candidate)) return
      passed.push(e.candidate.candidate)
      if (ready) void to.addIceCandidate(e.candidate).catch(() => {})
      else held.push(e.candidate)
    })
    return async () => {
      ready = true
      for (const c of held.splice(0)) await to.addIceCandidate(c)
    }
  }
  const toB = wire(a, b)
  const toA = wire(b, a)
  const offer = await a.createOffer()
  await a.setLocalDescription(offer)
  await b.setRemoteDescription(offer)
  await toB()
  const answer = await b.createAnswer()
  await b.setLocalDescription(answer)
  await a.setRemoteDescription(answer)
  await toA()
  return passed
}
