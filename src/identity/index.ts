/**
 * Identity: handles and their tags, the signed DHT records (device records
 * and handle claims) with their kad-dht validators and selectors, and the
 * key file that holds an account's and a device's secrets at rest.
 *
 * @example
 * ```ts
 * const { name, tag } = parseHandle('alice~k3x7abcd2q')
 * const claim = await buildHandleClaim(crypto, { accountSecretKey, name: 'alice', devices: [peerId], seq: Date.now(), expiresAt })
 * await verifyHandleClaim(crypto, claim.key, claim.value, Date.now())
 * const { validators, selectors } = starlingDhtValidators(crypto, { now: Date.now })
 * ```
 */
export {
  HANDLE_NAME_MAX_LENGTH, HANDLE_NAME_MIN_LENGTH, HANDLE_TAG_LENGTH, HANDLE_TAG_SEPARATOR,
  formatHandle, isValidHandle, parseHandle, validateHandleName, validateHandleTag
} from './handle.js'
export type { Handle } from './handle.js'
export { ACCOUNT_KEY_LENGTH, handleProviderCid, handleTag } from './tag.js'
export {
  DEVICE_RECORD_PREFIX, HANDLE_RECORD_PREFIX, MAX_CLAIM_DEVICES, MAX_DEVICE_ADDRS, MAX_RECORD_BYTES,
  STARLING_NAMESPACE, deviceRecordKey, handleRecordKey, parseRecordKey
} from './records.js'
export type { ParsedRecordKey, SignedRecord } from './records.js'
export {
  DeviceRecord, KEM_PUBLIC_KEY_LENGTH, SignedPrekey, X25519_PUBLIC_KEY_LENGTH, buildDeviceRecord,
  decodeDeviceRecord, deviceRecordSigningPayload, encodeDeviceRecord, verifyDeviceRecord
} from './device-record.js'
export type { DeviceRecordInit, PrekeyPublic } from './device-record.js'
export {
  HandleClaim, buildHandleClaim, decodeHandleClaim, encodeHandleClaim, handleClaimSigningPayload,
  verifyHandleClaim
} from './handle-claim.js'
export type { HandleClaimInit } from './handle-claim.js'
export { DEFAULT_REMEMBERED_KEYS, selectStarlingRecord, starlingDhtValidators, verifyStarlingRecord } from './validators.js'
export type { StarlingDhtValidators, StarlingDhtValidatorsInit } from './validators.js'
export { KEY_FILE_VERSION, MAX_KEY_FILE_BYTES, decodeKeyFile, encodeKeyFile, isEncryptedKeyFile } from './key-file.js'
export type { DecodeKeyFileOptions, EncodeKeyFileOptions, KeyFileData } from './key-file.js'
export {
  CorruptKeyFileError, InvalidHandleError, InvalidRecordError, PassphraseRequiredError, WrongPassphraseError
} from './errors.js'
export type { HandleErrorReason, RecordErrorReason } from './errors.js'
