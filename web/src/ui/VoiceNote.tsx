/**
 * Recording a voice note in the page (MediaRecorder, Opus in WebM): the
 * microphone button starts; while recording, the time shows with "Send"
 * (stop and send) and "Cancel"; Escape cancels. A recording stops by
 * itself after {@link MAX_VOICE_NOTE_MS}. The microphone is released as
 * soon as recording ends.
 */
import { useEffect, useRef, useState } from 'preact/hooks'

/** The longest voice note (then it is sent as it is). */
export const MAX_VOICE_NOTE_MS = 5 * 60_000
/** What MediaRecorder is asked for (the attachment check knows WebM audio). */
const RECORDING_TYPE = 'audio/webm;codecs=opus'

interface Recording {
  recorder: MediaRecorder
  stream: MediaStream
  chunks: Blob[]
  startedAt: number
  send: boolean
}

interface Props {
  disabled: boolean
  /** Sends the recorded file. */
  onRecorded(file: File): Promise<void>
  onError(message: string): void
}

export function VoiceNote ({ disabled, onRecorded, onError }: Props) {
  const [recording, setRecording] = useState(false)
  const [elapsed, setElapsed] = useState(0)
  const current = useRef<Recording | undefined>(undefined)
  const button = useRef<HTMLButtonElement>(null)
  const stopButton = useRef<HTMLButtonElement>(null)
  useEffect(() => {
    if (!recording) return
    stopButton.current?.focus()
    const timer = setInterval(() => {
      const r = current.current
      if (r == null) return
      const ms = Date.now() - r.startedAt
      setElapsed(ms)
      if (ms >= MAX_VOICE_NOTE_MS) stop(true)
    }, 250)
    return () => { clearInterval(timer) }
  }, [recording])
  // Leaving the conversation while recording drops the recording and frees the microphone.
  useEffect(() => () => { stop(false) }, [])

  const start = async (): Promise<void> => {
    if (typeof MediaRecorder === 'undefined' || navigator.mediaDevices == null) {
      onError('This browser cannot record audio.')
      return
    }
    let stream: MediaStream
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true })
    } catch (err) {
      onError(`The microphone is not available: ${(err as Error).message}`)
      return
    }
    const recorder = new MediaRecorder(stream, MediaRecorder.isTypeSupported(RECORDING_TYPE) ? { mimeType: RECORDING_TYPE } : {})
    const r: Recording = { recorder, stream, chunks: [], startedAt: Date.now(), send: false }
    recorder.ondataavailable = (e) => { if (e.data.size > 0) r.chunks.push(e.data) }
    recorder.onstop = () => {
      for (const t of stream.getTracks()) t.stop()
      if (!r.send) return
      const file = new File(r.chunks, `voice-note-${new Date(r.startedAt).toISOString().replace(/[:.]/g, '-')}.webm`, { type: 'audio/webm' })
      onRecorded(file).catch((err: Error) => { onError(err.message) })
    }
    current.current = r
    // Chunks every second: a long note is not one buffer built at the end.
    recorder.start(1_000)
    setElapsed(0)
    setRecording(true)
  }

  function stop (send: boolean): void {
    const r = current.current
    current.current = undefined
    if (r == null) return
    r.send = send
    if (r.recorder.state !== 'inactive') r.recorder.stop()
    else for (const t of r.stream.getTracks()) t.stop()
    setRecording(false)
    button.current?.focus()
  }

  if (!recording) {
    return <button type="button" ref={button} class="icon" aria-label="Record a voice note" title="Record a voice note" disabled={disabled} onClick={() => { void start() }}>🎙️</button>
  }
  const seconds = Math.floor(elapsed / 1000)
  return (
    <div class="recording" role="group" aria-label="Recording a voice note" onKeyDown={(e) => { if (e.key === 'Escape') { e.preventDefault(); stop(false) } }}>
      <span class="rec-dot" aria-hidden="true" />
      <span role="timer" aria-live="off">{Math.floor(seconds / 60)}:{String(seconds % 60).padStart(2, '0')}</span>
      <button type="button" ref={stopButton} onClick={() => { stop(true) }}>Send voice note</button>
      <button type="button" class="secondary" onClick={() => { stop(false) }}>Cancel</button>
    </div>
  )
}
