/**
 * One node per profile (issue 11, item 4): the tab that runs a profile's
 * node holds the Web Lock named after the profile for as long as it runs
 * it. A second tab finds the lock taken and starts nothing; it can ask for
 * the profile ("use here"): the holder hears it on a BroadcastChannel,
 * stops its node, and lets the lock go, which the asking tab was waiting
 * for. A tab closed or crashed releases its lock with it.
 */

/** The message a tab posts to ask the holder to let the profile go. */
const TAKE = 'take'

/** A profile lock this tab holds. */
export interface HeldProfileLock {
  /** Lets the lock go (after the node stopped). */
  release(): void
}

/** Names of the lock and channel of a profile. */
function names (profile: string): { lock: string, channel: string } {
  return { lock: `starling:profile:${profile}`, channel: `starling:profile:${profile}` }
}

/**
 * Takes the profile's lock if no other tab holds it (`wait: false`), or
 * waits for it (`wait: true`). `onTakeRequest` is called when another tab
 * asks for the profile: stop the node, then call release(). Resolves with
 * undefined when the lock is held elsewhere and `wait` is false.
 */
export async function acquireProfileLock (profile: string, options: { wait: boolean, onTakeRequest: () => void }): Promise<HeldProfileLock | undefined> {
  const { lock, channel: channelName } = names(profile)
  return await new Promise<HeldProfileLock | undefined>((resolve, reject) => {
    navigator.locks.request(lock, { ifAvailable: !options.wait }, async (granted) => {
      if (granted == null) {
        resolve(undefined)
        return
      }
      let releaseLock = (): void => {}
      const released = new Promise<void>(r => { releaseLock = r })
      const channel = new BroadcastChannel(channelName)
      channel.onmessage = (evt: MessageEvent) => { if (evt.data === TAKE) options.onTakeRequest() }
      resolve({
        release: () => {
          channel.close()
          releaseLock()
        }
      })
      // The lock is held until this callback's promise settles.
      await released
    }).catch(reject)
  })
}

/** Asks the tab that holds the profile to let it go (see {@link acquireProfileLock}). */
export function requestProfile (profile: string): void {
  const channel = new BroadcastChannel(names(profile).channel)
  channel.postMessage(TAKE)
  channel.close()
}
