/** Named errors of calls; tests assert on `.name`. */

/** A frame that does not decode, is too long, or breaks the protocol. */
export class CallProtocolError extends Error {
  override readonly name = 'CallProtocolError'
}

/** The caller's device is not one a verified device record names (or the record lies). */
export class UnverifiedCallerError extends Error {
  override readonly name = 'UnverifiedCallerError'
}

/** A frame for a call the sender is not part of, or an SDP from an earlier call. */
export class CallBindingError extends Error {
  override readonly name = 'CallBindingError'
}

/** A peer used up a budget (call attempts, candidates, frames). */
export class CallBudgetError extends Error {
  override readonly name = 'CallBudgetError'
}

/** The remote DTLS certificate is not the one the SDP named. */
export class FingerprintMismatchError extends Error {
  override readonly name = 'FingerprintMismatchError'
}

/** An action that the call's state does not allow (accepting a call that stopped ringing, say). */
export class CallStateError extends Error {
  override readonly name = 'CallStateError'
}

/** The callee could not be reached (no device answered the stream). */
export class CallUnreachableError extends Error {
  override readonly name = 'CallUnreachableError'
}

/** Hide my IP is on and our relays offer no TURN server: media could only flow directly, so the call is not made. */
export class NoTurnServerError extends Error {
  override readonly name = 'NoTurnServerError'
}

/** A call from someone who is not a contact would be direct (our relays offer no TURN): accepting it needs the user's explicit yes. */
export class DirectCallError extends Error {
  override readonly name = 'DirectCallError'
}
