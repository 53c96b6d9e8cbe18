/** The store server's answers: refusals (the stream stays open), OK answers, and how quotas are named on the wire. */
import type { QuotaKind } from './errors.js'
import { StoreResponse } from './pb/store.js'
import type { StoreRequest } from './pb/store.js'
import type { StoreOp } from './store.js'
import type { ReceiptItem } from './signing.js'

/** A refusal: answered with a status, the stream stays open. */
export function refusal (status: StoreResponse.Status, message: string, quota = StoreResponse.Quota.NONE): StoreResponse {
  return { status, message, envelopes: [], cursor: new Uint8Array(0), more: false, deleted: 0, quota, results: [] }
}

/** How each quota is named on the wire. */
export const QUOTA_ON_WIRE: Record<QuotaKind, StoreResponse.Quota> = {
  'mailbox-full': StoreResponse.Quota.MAILBOX_FULL,
  'mailbox-share': StoreResponse.Quota.MAILBOX_SHARE,
  'source-budget': StoreResponse.Quota.SOURCE_BUDGET,
  'relay-full': StoreResponse.Quota.RELAY_FULL,
  unknown: StoreResponse.Quota.NONE
}

/** Which operation a request is (it sets exactly one, once checked; a batch of puts is a put). */
export function opOf (request: StoreRequest): StoreOp {
  return request.put != null || request.puts != null ? 'put' : request.fetch != null ? 'fetch' : 'delete'
}

/** One put's answer as a batch carries it: the fields a single put's answer sets. */
export function putResult (response: StoreResponse): StoreResponse.PutResult {
  return { status: response.status, message: response.message, receipt: response.receipt, quota: response.quota }
}

/** A batch's result for one put as the answer a single put would have got (what the client reads). */
export function fromPutResult (result: StoreResponse.PutResult): StoreResponse {
  return { ...refusal(result.status, result.message, result.quota), receipt: result.receipt }
}

/** An answer with status OK and `fields`. */
export function ok (fields: Partial<StoreResponse> = {}): StoreResponse {
  return { ...refusal(StoreResponse.Status.OK, ''), ...fields }
}

/** Whether a put's outcome is a stored envelope (its receipt still to sign) rather than a refusal. */
export function isStored (outcome: StoreResponse | ReceiptItem): outcome is ReceiptItem {
  return 'subject' in outcome
}
