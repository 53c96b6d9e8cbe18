/**
 * Known contacts at warm-up (`workload.knownContacts`): a worker's users
 * resolve and pin each of their contacts before the workload, as someone
 * adding people to an address book does, a few at a time, retrying a
 * failed resolution with growing pauses; and all of it within a deadline
 * from the scenario. Each try is bounded (the messenger's 15 s resolution
 * limit) but their number is not on a saturated machine: adding 5,000
 * contacts took 29 minutes in the 500-user run. At the deadline the
 * contacts not added yet (under way, or never tried) count as not added,
 * and the run goes on.
 */
import type { Scenario } from './scenario.js'

/** Tries to add one contact, and the pause before the second, doubled after each, wall ms. */
export const CONTACT_ATTEMPTS = 5
export const CONTACT_RETRY_MS = 2_000
/** Contacts a worker resolves at once. */
export const CONTACT_CONCURRENCY = 4
/** The default deadline: this much wall time for each contact a worker adds, and at least the minimum. */
export const CONTACT_DEADLINE_EACH_MS = 1_000
export const CONTACTS_MIN_DEADLINE_MS = 300_000

/**
 * Wall ms a worker adding `contacts` contacts may take: the scenario's
 * `workload.contactsDeadlineSeconds`, else 1 s per contact and at least
 * 5 minutes.
 */
export function contactsDeadlineMs (scenario: Scenario, contacts: number): number {
  const given = scenario.workload.contactsDeadlineSeconds
  if (given != null) return given * 1000
  return Math.max(CONTACTS_MIN_DEADLINE_MS, contacts * CONTACT_DEADLINE_EACH_MS)
}

/** A user (index) adding a contact (index). */
export type ContactPair = [from: number, to: number]

export interface AddContactsInit {
  work: ContactPair[]
  /** One try; true when the contact was added (a rejection counts as a failed try). */
  tryAdd: (pair: ContactPair, attempt: number) => Promise<boolean>
  /** Wall ms from now. */
  deadlineMs: number
  /** Contacts done (added, or out of tries) so far, after each. */
  onProgress?: (done: number, total: number) => void
}

export interface ContactsAdded {
  /** Added before the deadline. */
  added: ContactPair[]
  /** Not added: out of tries, or cut off. */
  failed: number
  /** Not added because the deadline came first (still under way, or never tried). */
  cutOff: number
  /** Settles once the tries still under way at the deadline have ended (their results are not counted). */
  late: Promise<void>
}

/** Adds the contacts of `work`, {@link CONTACT_CONCURRENCY} at a time, until done or the deadline. */
export async function addContacts (init: AddContactsInit): Promise<ContactsAdded> {
  const { work } = init
  const deadline = new AbortController()
  const timer = setTimeout(() => { deadline.abort() }, init.deadlineMs)
  const added: ContactPair[] = []
  let outOfTries = 0
  let next = 0
  const one = async (pair: ContactPair): Promise<void> => {
    for (let attempt = 1; attempt <= CONTACT_ATTEMPTS; attempt++) {
      if (attempt > 1) await pause(CONTACT_RETRY_MS * 2 ** (attempt - 2), deadline.signal)
      if (deadline.signal.aborted) return
      const ok = await init.tryAdd(pair, attempt).catch(() => false)
      // A try that ends after the deadline is not counted: the phase has been reported.
      if (deadline.signal.aborted) return
      if (ok) {
        added.push(pair)
        return
      }
    }
    outOfTries++
  }
  const lanes = Promise.all(Array.from({ length: Math.min(CONTACT_CONCURRENCY, work.length) }, async () => {
    while (next < work.length && !deadline.signal.aborted) {
      await one(work[next++])
      if (!deadline.signal.aborted) init.onProgress?.(added.length + outOfTries, work.length)
    }
  })).then(() => {})
  const cut = new Promise<void>(resolve => { deadline.signal.addEventListener('abort', () => { resolve() }, { once: true }) })
  await Promise.race([lanes, cut])
  clearTimeout(timer)
  deadline.abort()
  return { added: [...added], failed: work.length - added.length, cutOff: work.length - added.length - outOfTries, late: lanes }
}

/** Waits `ms`, or less if `signal` aborts first. */
async function pause (ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
    function done (): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}
