/** Named errors of the TURN credential protocol; tests assert on `.name`. */

/** An answer that does not decode or breaks a bound. */
export class InvalidTurnCredentialsError extends Error {
  override readonly name = 'InvalidTurnCredentialsError'
}

/** The relay gave no credentials (it does not serve us, has no TURN server, or our budget is spent). */
export class TurnRefusedError extends Error {
  override readonly name = 'TurnRefusedError'
}

/** The relay named only TURN servers on other hosts than its own (a third party's, or a LAN address): refused. */
export class ForeignTurnUrlError extends Error {
  override readonly name = 'ForeignTurnUrlError'
}
