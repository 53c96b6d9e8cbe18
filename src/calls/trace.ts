/**
 * Marks of a call's set-up steps (ring sent and received, accept, answer,
 * candidates, ICE and DTLS up) in the performance timeline, to see where a
 * call's first second goes (`BENCH_CALL_TRACE=1 npm run bench:call` prints
 * both tabs' marks side by side). Off unless the page or process sets
 * `globalThis.starlingCallTrace = true`: marks stay in the timeline until
 * cleared, so they are never left on by default.
 */

/** Adds the mark `call:<step>` when tracing is on. */
export function mark (step: string): void {
  if ((globalThis as { starlingCallTrace?: boolean }).starlingCallTrace !== true) return
  globalThis.performance?.mark?.(`call:${step}`)
}
