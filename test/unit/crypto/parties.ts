/** Test parties: an account, a device identity key and prekeys, and the bundle others see. */
import { addOneTimePrekeys, createPrekeyState, generateIdentityKey, publicPrekeys } from '../../../src/crypto/prekeys.js'
import type { PrekeyState } from '../../../src/crypto/prekeys.js'
import { encrypt, initiateSession, memoryReplayGuard, respondToSession } from '../../../src/crypto/session.js'
import type { DeviceSecrets, LocalIdentity, PrekeyBundle, ReplayGuard, SessionState } from '../../../src/crypto/session.js'
import type { Crypto } from '../../../src/crypto/index.js'

export interface Party {
  accountSecretKey: Uint8Array
  identity: LocalIdentity
  device: DeviceSecrets
  guard: ReplayGuard
  bundle: (withOneTime?: boolean) => PrekeyBundle
}

export const T0 = Date.UTC(2026, 10, 22)

export async function makeParty (crypto: Crypto, now = T0, oneTime = 0): Promise<Party> {
  const account = await crypto.ed25519.generateKeyPair()
  const ik = await generateIdentityKey(crypto, account.secretKey)
  let prekeys: PrekeyState = await createPrekeyState(crypto, account.secretKey, now)
  const added = oneTime > 0 ? await addOneTimePrekeys(crypto, prekeys, oneTime) : undefined
  if (added != null) prekeys = added.state
  const identity: LocalIdentity = {
    accountKey: account.publicKey,
    identityKey: { secretKey: ik.secretKey, publicKey: ik.publicKey },
    identityKeySignature: ik.signature
  }
  const party: Party = {
    accountSecretKey: account.secretKey,
    identity,
    device: { accountKey: account.publicKey, identityKey: identity.identityKey, prekeys },
    guard: memoryReplayGuard(),
    bundle: (withOneTime = false) => {
      const pub = publicPrekeys(party.device.prekeys)
      const otk = party.device.prekeys.oneTimePrekeys[0]
      return {
        accountKey: account.publicKey,
        identityKey: ik.publicKey,
        identityKeySignature: ik.signature,
        signedPrekey: pub.signedPrekey,
        kemPrekey: pub.kemPrekey,
        ...(withOneTime && otk != null ? { oneTimePrekey: { id: otk.id, publicKey: otk.publicKey } } : {})
      }
    }
  }
  return party
}

const enc = new TextEncoder()
const dec = new TextDecoder()
export const text = (s: string): Uint8Array => enc.encode(s)
export const str = (b: Uint8Array): string => dec.decode(b)

/** A started session: Alice sent "hello", Bob answered with "hi". */
export async function connectedPair (crypto: Crypto): Promise<{ alice: SessionState, bob: SessionState, a: Party, b: Party }> {
  const a = await makeParty(crypto)
  const b = await makeParty(crypto)
  const { state: a0 } = await initiateSession(crypto, a.identity, b.bundle())
  const first = await encrypt(crypto, a0, text('hello'))
  const r = await respondToSession(crypto, b.device, first.message, b.guard, { now: T0 })
  return { alice: first.state, bob: r.state, a, b }
}
