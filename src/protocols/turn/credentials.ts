/**
 * coturn's REST API shared-secret scheme (draft-uberti-behave-turn-rest-00,
 * coturn's `use-auth-secret`): the username is "<expiry, Unix seconds>:<user
 * id>", the password base64(HMAC-SHA1(secret, username)). The TURN server
 * recomputes the password from the secret it shares with the relay and
 * refuses a username whose expiry has passed, so the relay hands out
 * credentials without telling the TURN server anything.
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha1 } from '@noble/hashes/legacy.js'

/** One credential. */
export interface TurnCredential {
  username: string
  credential: string
  /** ms since the epoch */
  expiresAt: number
}

function base64 (bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary)
}

/** A credential for `userId` that works until `expiresAt` (ms; coturn counts whole seconds). */
export function turnCredential (secret: Uint8Array, userId: string, expiresAt: number): TurnCredential {
  if (userId.includes(':')) throw new RangeError('a TURN user id may not contain ":" (the username is "expiry:user")')
  const seconds = Math.floor(expiresAt / 1000)
  const username = `${seconds}:${userId}`
  return { username, credential: base64(hmac(sha1, secret, new TextEncoder().encode(username))), expiresAt: seconds * 1000 }
}
