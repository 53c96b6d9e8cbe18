/**
 * A contact's safety number: the 60 digits (in twelve groups of five, as
 * Signal shows them) and the QR code of the scannable form, to compare in
 * person or over another channel; "Mark as verified" remembers that the
 * user did (until the contact's keys change). After a key change the
 * warning is here too, with "Accept new keys".
 */
import { useEffect, useState } from 'preact/hooks'
import type { StarlingApp } from '../app/lifecycle.js'
import type { RunningPeer } from '../app/client.js'
import type { AppState } from '../app/state.js'
import type { SafetyNumberView } from '../../../src/peer/index.js'
import { fromHex } from '../../../src/messenger/bytes.js'
import { encodeQr, qrPath } from '../app/qr.js'
import { routeHash } from './hooks.js'
import { shortName } from './format.js'

const QR_MARGIN = 4

/** The QR code as an SVG drawing (dark on light in both themes: scanners expect it). */
function QrCode ({ payload, label }: { payload: string, label: string }) {
  const code = encodeQr(fromHex(payload))
  const side = code.size + 2 * QR_MARGIN
  return (
    <svg class="qr" viewBox={`0 0 ${side} ${side}`} role="img" aria-label={label} shape-rendering="crispEdges">
      <rect width={side} height={side} fill="#fff" />
      <path d={qrPath(code, QR_MARGIN)} fill="#000" />
    </svg>
  )
}

export function SafetyNumberScreen ({ app, running, state, handle }: { app: StarlingApp, running: RunningPeer, state: AppState, handle: string }) {
  const [view, setView] = useState<SafetyNumberView>()
  const [error, setError] = useState<string>()
  const summary = state.conversations.find(c => c.handle === handle || c.handle === view?.handle)
  useEffect(() => {
    setView(undefined)
    running.safetyNumber(handle).then(setView).catch((err: Error) => { setError(err.message) })
  }, [running, handle, summary?.keyChange?.seenAt])
  const account = summary?.account
  const verified = account != null && view != null && state.settings?.verified[account] === view.digits
  const act = async (what: () => Promise<void>): Promise<void> => {
    setError(undefined)
    try {
      await what()
    } catch (err) {
      setError((err as Error).message)
    }
  }
  const groups = view?.digits.match(/\d{5}/g) ?? []
  const name = shortName(view?.handle ?? handle)
  return (
    <main id="main" class="main safety" tabIndex={-1} aria-labelledby="safety-title" data-handle={view?.handle ?? handle}>
      <header class="thread-head">
        <a class="back" href={routeHash({ screen: 'thread', handle })} aria-label={`Back to the chat with ${name}`}>←</a>
        <h2 id="safety-title">Safety number with {name}</h2>
      </header>
      {error != null && <p role="alert" class="error">{error}</p>}
      {summary?.keyChange != null && (
        <section class="banner warn" aria-label="Safety warning">
          <p>The keys of {name} changed. Compare this number with {name} before you accept the new keys: if it differs from theirs, someone else may be answering for them.</p>
          <button type="button" onClick={() => { void act(async () => { await app.acceptNewKeys(view?.handle ?? handle, summary.account) }) }}>Accept new keys</button>
        </section>
      )}
      {view == null && error == null && <p role="status">Computing the safety number…</p>}
      {view != null && (
        <div class="safety-body">
          <p>Compare these numbers with the ones {name} sees, or scan each other's code. If they match, nobody is in the middle of your conversation.</p>
          <p class="digits" aria-label={`Safety number: ${groups.join(' ')}`} data-digits={view.digits}>
            {groups.map((g, i) => <span key={i}>{g}</span>)}
          </p>
          <QrCode payload={view.qr} label={`QR code of the safety number with ${name}`} />
          <p class="verify-state" role="status">{verified ? `✓ You marked ${name} as verified.` : `${name} is not verified.`}</p>
          {account != null && (
            verified
              ? <button type="button" class="secondary" onClick={() => { void act(async () => { await app.setVerified(account) }) }}>Clear verification</button>
              : <button type="button" onClick={() => { void act(async () => { await app.setVerified(account, view.digits) }) }}>Mark as verified</button>
          )}
        </div>
      )}
    </main>
  )
}
