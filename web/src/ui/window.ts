/**
 * How much of a conversation the thread renders at once. A contact can send
 * thousands of messages; rendering every one on each event would freeze the
 * tab, so the thread shows the newest {@link THREAD_WINDOW} and more each
 * time the user asks (or as far back as a message they go to). Likewise a
 * message shows at most {@link MAX_REACTIONS_SHOWN} different reactions.
 */

/** Messages rendered at first, and added each time the user asks for earlier ones. */
export const THREAD_WINDOW = 200

/**
 * Index of the first message to render of `total`, showing the newest
 * `shown`, or from `wanted` (the index of a message the user goes to) when
 * that is earlier.
 */
export function windowStart (total: number, shown: number, wanted = -1): number {
  const start = Math.max(0, total - shown)
  return wanted >= 0 && wanted < start ? wanted : start
}

/** Most different reactions shown on one message (a contact may add every emoji there is, thousands, to each); the rest are counted. */
export const MAX_REACTIONS_SHOWN = 20
