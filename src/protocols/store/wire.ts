/**
 * The generated protobuf types want `Uint8Array<ArrayBuffer>`; the rest of
 * the code passes plain `Uint8Array`. Encoding only reads the bytes, so the
 * cast below only widens what the generated code accepts.
 */

/** Bytes as the generated protobuf types name them. */
export type WireBytes = Uint8Array<ArrayBuffer>

/** `bytes` typed for a generated protobuf message (no copy). */
export function wire (bytes: Uint8Array): WireBytes {
  return bytes as WireBytes
}
