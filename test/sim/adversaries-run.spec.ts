/**
 * A small simulation with adversaries end to end (issue 15, item 6): five
 * real relays and 15 real users in two worker processes, 40% of the users
 * coming and going; one relay in five signs custody receipts for envelopes
 * it then discards, one relay's DHT server hides every record, and three
 * users in 15 are sybils that claim honest users' names and flood those
 * users' mailboxes up to the relays' per-source budget. Every message from
 * an honest user to an honest user that came back online must be
 * delivered exactly once, and each adversary must really have acted.
 *
 * The settle phase is the one wall-clock bound, and it only ends the wait:
 * a run on a loaded machine delivers later, not less.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseScenario } from './scenario.js'
import { runSimulation } from '../../scripts/sim/coordinator.js'

describe('simulation: adversaries end to end', function () {
  this.timeout(20 * 60_000)
  let dir = ''
  after(async () => { if (dir !== '') await rm(dir, { recursive: true, force: true }) })

  it('20% malicious relays and users: every honest message to a returning honest user delivered exactly once; the adversaries acted', async () => {
    dir = await mkdtemp(join(tmpdir(), 'starling-sim-adv-'))
    const scenario = parseScenario({
      name: 'ci-adversaries',
      seed: 1516,
      relays: 5,
      users: 15,
      workers: 2,
      durationSeconds: 60,
      settleSeconds: 240,
      network: { latencyMs: 5 },
      // Enough messages to offline users that the malicious relay is handed some (relays are used only then).
      churn: { share: 0.4, meanOnlineSeconds: 20, meanOfflineSeconds: 30 },
      workload: { messagesPerNodePerMinute: 4, contacts: 4, minBytes: 20, maxBytes: 300 },
      adversaries: {
        relays: { share: 0.2, behaviours: ['discard'] },
        dhtServers: { share: 0.2 },
        users: { share: 0.2, claimNames: true, flood: { putsPerSecond: 4, envelopeBytes: 1024 } },
        relayBudgets: { maxEnvelopesPerMailboxPerSource: 8 }
      }
    })
    const lines: string[] = []
    const summary = await runSimulation(scenario, { outDir: dir, log: (l) => { lines.push(l) } })

    const honest = summary.honest
    const adversaries = summary.adversaries
    assert.ok(honest != null && adversaries != null, 'the summary has no honest figures')
    assert.deepEqual(Object.values(adversaries.relays), ['discard'])
    assert.equal(adversaries.dhtServers.length, 1)
    assert.equal(Object.keys(adversaries.sybils).length, 3)
    assert.ok(honest.toReturningRecipients >= 10, `only ${honest.toReturningRecipients} honest messages to returning users`)
    assert.equal(honest.sendFailed, 0, JSON.stringify(summary.messages.sendErrors))
    assert.equal(honest.deliveryRatio, 1, `undelivered: ${JSON.stringify(honest.undelivered)}\n${lines.join('\n')}`)
    assert.equal(honest.duplicates, 0)
    assert.equal(summary.messages.misdirected, 0)

    const c = adversaries.counts
    const seen = JSON.stringify(c)
    assert.ok(c.receiptsForgedThenDiscarded > 0, `the malicious relay was never handed an envelope: ${seen}`)
    assert.ok(c.dhtRecordsHidden > 0, `the malicious DHT server hid no record: ${seen}`)
    // On a loaded machine a publication can take longer than the run: at least one claim, not all three.
    assert.ok(c.sybilClaims > 0, `no sybil published its claim to an honest name: ${seen}`)
    assert.ok(c.floodPutsStored > 0, `no flood put was taken: ${seen}`)
    assert.ok(c.floodPutsRefused > 0, `the per-source budget never refused a flood put: ${seen}`)
    // The budget held: at most 8 junk envelopes per victim mailbox per relay from each sybil (one source each).
    assert.ok(c.floodPutsStored <= 3 * scenario.relaysPerUser * 8, `${c.floodPutsStored} flood puts stored`)
  })
})
