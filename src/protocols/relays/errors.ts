/** Named errors of the relay-set protocol; tests assert on `.name`. */

/** A relay's list that does not decode, is not signed by the relay that was asked, is out of date, or names too much. */
export class InvalidRelaySetError extends Error {
  override readonly name = 'InvalidRelaySetError'
}
