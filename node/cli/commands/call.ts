/** `starling call`: an audio call from the command line, through the running daemon. */
import { access, constants, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { ApiClient } from '../../api/client.js'
import { userDataDir } from '../../data-dir.js'
import { UsageError } from '../../errors.js'
import { formatDuration } from '../../calls/format.js'
import type { Command } from '../command.js'

/** What the daemon answers when the call is over. */
interface CallResult {
  id: string
  handle?: string
  state: string
  endReason?: string
  durationMs: number
  connected: boolean
  firstAudioMs?: number
  recordedMs: number
}

/** What a call that never connected came to, in words, by how it ended (src/calls, CallEndReason). */
const NOT_CONNECTED: Record<string, string> = {
  declined: 'declined',
  busy: 'busy',
  unreachable: 'not reachable',
  missed: 'not answered',
  failed: 'answered, but the call could not be connected',
  fingerprint: 'ended: the other side\'s certificate was not the one its answer named (the call may have been tampered with)',
  protocol: 'ended: a protocol error',
  hangup: 'ended before it connected',
  'remote-hangup': 'ended by the other side before it connected'
}

/** The line for a call that never connected (a reason this version does not know is said as it is). */
export function notConnectedLine (handle: string, reason: string | undefined): string {
  return `call with ${handle}: ${reason == null ? 'ended before it connected' : NOT_CONNECTED[reason] ?? `ended (${reason})`}`
}

/** Checks the files before the daemon is asked: one clear line for each mistake. */
async function checkFiles (audioIn: string | undefined, audioOut: string | undefined): Promise<void> {
  if (audioIn != null) {
    const { readWav } = await import('../../calls/wav.js')
    try {
      await readWav(audioIn)
    } catch (err) {
      throw new UsageError(`--audio-in ${(err as Error).message}`)
    }
  }
  if (audioOut != null) {
    if (!audioOut.toLowerCase().endsWith('.wav')) throw new UsageError(`--audio-out ${audioOut}: the recording is written as WAV; name it FILE.wav`)
    const dir = dirname(audioOut)
    try {
      if (!(await stat(dir)).isDirectory()) throw new Error('not a directory')
      await access(dir, constants.W_OK)
    } catch {
      throw new UsageError(`--audio-out ${audioOut}: cannot write into ${dir}`)
    }
    if (await stat(audioOut).then(s => s.isDirectory(), () => false)) throw new UsageError(`--audio-out ${audioOut} is a directory`)
  }
}

export const callCommand: Command = {
  name: 'call',
  summary: 'call a contact by voice: send a WAV file\'s audio, record what you hear',
  usage: 'starling call HANDLE [--audio-in FILE.wav] [--audio-out FILE.wav] [--seconds N] [--data DIR]',
  examples: ['starling call bob --audio-in hello.wav --audio-out bob.wav --seconds 20'],
  options: {
    data: { type: 'string' },
    'audio-in': { type: 'string' },
    'audio-out': { type: 'string' },
    seconds: { type: 'string' }
  },
  help: {
    data: 'data directory of the daemon to ask (default $STARLING_DATA or ~/.starling)',
    'audio-in': '16-bit PCM WAV to send, looped (any rate, mono or stereo; sent as 48 kHz mono Opus); silence when absent',
    'audio-out': 'where to write what the other side said (48 kHz mono 16-bit WAV)',
    seconds: 'how long to stay in the call once it connects (default 10, at most 200); the call ends sooner if the other side hangs up'
  },
  positionals: [{ name: 'HANDLE', required: true }],
  async run ({ args, out }) {
    const seconds = args.values.seconds != null ? Number(args.values.seconds) : 10
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 200) throw new UsageError('--seconds must be a number above 0 and at most 200')
    const audioIn = args.values['audio-in'] != null ? resolve(args.values['audio-in'] as string) : undefined
    const audioOut = args.values['audio-out'] != null ? resolve(args.values['audio-out'] as string) : undefined
    await checkFiles(audioIn, audioOut)
    const client = await ApiClient.connect(userDataDir(args.values.data as string | undefined))
    const r = await client.call<CallResult>('call', { handle: args.positionals[0], audioIn, audioOut, seconds })
    const how = r.connected
      ? `call with ${r.handle ?? args.positionals[0]} ended after ${formatDuration(r.durationMs)}`
      : notConnectedLine(r.handle ?? args.positionals[0], r.endReason)
    out.print({ event: 'call', ...r }, [how, ...(audioOut != null && r.connected ? [`recorded ${formatDuration(r.recordedMs)} to ${audioOut}`] : [])])
    return r.connected ? 0 : 1
  }
}
