/**
 * A worker's adversaries (test/sim/adversaries.ts): what its relays and
 * users are given when the scenario makes them malicious, the sybils'
 * floods, and the counters of what they all did. The engine asks it at
 * each step and gets nothing back for a scenario without adversaries.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { mailboxId } from '../../src/protocols/store/index.js'
import { Flooder, HidingDatastore, chooseAdversaries, hasAdversaries, noAdversaryCounts, subvertRelay, userLoopbackAddress } from './adversaries.js'
import type { AdversaryCounts, AdversaryRoles } from './adversaries.js'
import type { SimRelayInit, SimUser, SimUserInit } from './nodes.js'
import type { RelayInfo, UserInfo } from './protocol.js'
import type { Scenario } from './scenario.js'
import type { Schedule } from './schedule.js'

/** One worker's share of the adversaries. */
export class Adversity {
  readonly roles: AdversaryRoles
  readonly counts: AdversaryCounts = noAdversaryCounts()
  private readonly active: boolean
  private readonly flooders: Flooder[] = []
  /** Sybils seen with their claim published (at warm-up, or later: a loaded machine may take longer). */
  private readonly claimed = new Set<number>()

  constructor (
    private readonly scenario: Scenario,
    private readonly schedule: Schedule,
    private readonly relays: RelayInfo[],
    private readonly addr: (r: RelayInfo) => string
  ) {
    this.roles = chooseAdversaries(scenario)
    this.active = hasAdversaries(this.roles)
  }

  /** What relay `index` is given beyond an honest relay's: budgets, and its subversion when malicious. */
  relayInit (index: number): Pick<SimRelayInit, 'storage' | 'datastore' | 'subvert'> {
    const a = this.scenario.adversaries
    const behaviour = this.roles.relays.get(index)
    const counts = this.counts
    // A delay keeps its meaning in simulated time.
    const delayMs = a.relays.delayMs * this.scenario.timeDilation
    return {
      ...(Object.keys(a.relayBudgets).length > 0 ? { storage: a.relayBudgets } : {}),
      ...(this.roles.dhtServers.has(index) ? { datastore: (db) => new HidingDatastore(db, counts) } : {}),
      ...(behaviour != null ? { subvert: (relay) => { subvertRelay(relay, behaviour, delayMs, counts) } } : {})
    }
  }

  /** A user's name (a sybil's is its victim's) and, with adversaries about, a source address of its own. */
  userInit (index: number, name: string): Pick<SimUserInit, 'name' | 'localAddress'> {
    const victim = this.roles.sybils.get(index)
    const claims = victim != null && this.scenario.adversaries.users.claimNames
    return {
      name: claims ? this.schedule.users[victim].name : name,
      ...(this.active ? { localAddress: userLoopbackAddress(index) } : {})
    }
  }

  /** After a user's first start: a sybil that published its claim to an honest user's name counts one claim. */
  started (index: number, user: SimUser): void {
    if (this.claims(index) && user.peer?.directory.lastPublished != null) this.claimed.add(index)
  }

  private claims (index: number): boolean {
    return this.roles.sybils.has(index) && this.scenario.adversaries.users.claimNames
  }

  /** The floods of this worker's sybils, each at its victim's mailboxes on the victim's relays (not started). */
  flood (users: Map<number, SimUser>, infos: UserInfo[]): Flooder[] {
    const f = this.scenario.adversaries.users.flood
    if (f.putsPerSecond === 0) return []
    for (const [index, victim] of this.roles.sybils) {
      const user = users.get(index)
      if (user == null) continue
      const mailbox = mailboxId(peerIdFromString(infos[victim].peerId))
      const targets = this.schedule.users[victim].relays.map(r => ({ relay: [multiaddr(this.addr(this.relays[r]))], mailbox }))
      this.flooders.push(new Flooder(() => user.peer?.node, targets, { intervalMs: 1000 * this.scenario.timeDilation / f.putsPerSecond, envelopeBytes: f.envelopeBytes, counts: this.counts }))
    }
    return this.flooders
  }

  stop (): void {
    for (const f of this.flooders) f.stop()
  }

  /** The counters, or nothing when the scenario has no adversaries (its fault counts stay as they were). */
  report (users: Map<number, SimUser>): Partial<AdversaryCounts> {
    if (!this.active) return {}
    for (const [index, user] of users) this.started(index, user)
    return { ...this.counts, sybilClaims: this.claimed.size }
  }
}
