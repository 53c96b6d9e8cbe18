/** The store server's answers: refusals (the stream stays open), OK answers, and how quotas are named on the wire. */
import type { QuotaKind } from './errors.js'
import { StoreResponse } from './pb/store.js'
import type { StoreRequest } from './pb/store.js'
import type { StoreOp } from './store.js'

/** A refusal: answered with a status, the stream stays open. */
export function refusal (status: StoreResponse.Status, message: string, quota = StoreResponse.Quota.NONE): StoreResponse {
  return { status, message, envelopes: [], cursor: new Uint8Array(0), more: false, deleted: 0, quota }
}

/** How each quota is named on the wire. */
export const QUOTA_ON_WIRE: Record<QuotaKind, StoreResponse.Quota> = {
  'mailbox-full': StoreResponse.Quota.MAILBOX_FULL,
  'mailbox-share': StoreResponse.Quota.MAILBOX_SHARE,
  'source-budget': StoreResponse.Quota.SOURCE_BUDGET,
  'relay-full': StoreResponse.Quota.RELAY_FULL,
  unknown: StoreResponse.Quota.NONE
}

/** Which operation a request is (it sets exactly one, once checked). */
export function opOf (request: StoreRequest): StoreOp {
  return request.put != null ? 'put' : request.fetch != null ? 'fetch' : 'delete'
}

/** An answer with status OK and `fields`. */
export function ok (fields: Partial<StoreResponse> = {}): StoreResponse {
  return { ...refusal(StoreResponse.Status.OK, ''), ...fields }
}
