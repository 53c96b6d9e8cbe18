/** Messaging commands: they ask the running daemon through its API. */
import { resolve as resolvePath } from 'node:path'
import { DaemonNotRunningError, UsageError } from '../../errors.js'
import { userDataDir } from '../../data-dir.js'
import { ApiClient, RemoteError } from '../../api/client.js'
import type { Command, CommandArgs, Output } from '../command.js'
import { bodyText, earlierVersions, formatSize, plural, sendStateText } from '../message-format.js'
import type { HistoryMessage } from '../message-format.js'

const dataOption = { data: { type: 'string' as const } }
const dataHelp = { data: 'data directory of the daemon to ask (default $STARLING_DATA or ~/.starling)' }

async function connect (args: CommandArgs): Promise<ApiClient> {
  return ApiClient.connect(userDataDir(args.values.data as string | undefined))
}

interface Sent { id: string, handle: string, state: string, from: string, note?: boolean }

/** One line per send, naming who sent it: without --data a command acts as the default profile. */
function printSent (out: Output, verb: string, r: Sent): void {
  out.print({ event: verb, ...r }, r.note === true
    ? `${verb} ${r.id.slice(0, 8)} as a Note to Self (${r.from}): kept on this device, sent to nobody`
    : `${verb} ${r.id.slice(0, 8)} to ${r.handle} as ${r.from} (${r.state})`)
}

/** What every command that takes a message id accepts (node/daemon/message-ids.ts). */
export const ID_HELP = 'ID is a message id as history and chat show it: its first 4 or more hex digits (unique in the conversation), or all 32'

/**
 * A handle as typed: `@bob` is a habit from other apps, refused with what to type instead.
 *
 * @throws {UsageError}
 */
export function handleArg (command: string, handle: string): string {
  if (handle.startsWith('@') && handle.length > 1) throw new UsageError(`${command}: write the handle without @ (starling ${command} ${handle.slice(1)} ...)`)
  return handle
}

/** Help of `--yes` (send and chat). */
export const YES_HELP = 'first contact through a bare name: go ahead with the name~tag it resolves to (without it, a bare name that is not a contact yet is refused and the name~tag and fingerprint it resolves to are printed)'

/**
 * Calls the daemon; a bare name that is not a contact yet comes back refused
 * (UnconfirmedHandleError, naming the name~tag and fingerprint): that one
 * line also says how to go ahead from the command line.
 */
export async function withFirstContactHint<T> (call: Promise<T>, command: string): Promise<T> {
  try {
    return await call
  } catch (err) {
    if (!(err instanceof RemoteError) || err.remoteName !== 'UnconfirmedHandleError') throw err
    throw new RemoteError(`not ${command === 'send' ? 'sent' : 'opened'}: ${err.message} (or repeat with --yes to go ahead with it)`, err.remoteName)
  }
}

export const sendCommand: Command = {
  name: 'send',
  summary: 'send a text message or files, optionally as a reply to any earlier message',
  usage: 'starling send HANDLE [TEXT] [--reply-to ID] [--attach FILE]... [--yes] [--data DIR]',
  examples: ['starling send bob~x3k9q2mf7a "hello"', 'starling send bob "yes!" --reply-to 3f2a...', 'starling send bob "look" --attach cat.png --attach notes.pdf', 'starling send carol "hi" --yes'],
  options: { ...dataOption, 'reply-to': { type: 'string' }, attach: { type: 'string', multiple: true }, yes: { type: 'boolean', short: 'y' } },
  help: {
    ...dataHelp,
    'reply-to': 'reply to this message (ID as below)',
    yes: YES_HELP,
    attach: 'send this file (repeatable: the files go as one message, up to 10 per message; up to 100 MB each, 10 MB while the recipient is offline); TEXT becomes the caption'
  },
  notes: [ID_HELP],
  positionals: [{ name: 'HANDLE', required: true }, { name: 'TEXT', required: false }],
  async run ({ args, out }) {
    const [typed, text] = args.positionals
    const handle = handleArg('send', typed)
    const attach = (args.values.attach as string[] | undefined) ?? []
    if ((text == null || text.trim() === '') && attach.length === 0) throw new UsageError(`send: ${text == null ? 'give a TEXT' : 'the TEXT is empty; give some text'} or at least one --attach FILE`)
    if (attach.length > 0 && args.values['reply-to'] != null) throw new UsageError('send: --reply-to goes with text, not with --attach')
    const files = attach.map(f => resolvePath(f))
    const confirm = args.values.yes === true
    const r = await withFirstContactHint((await connect(args)).call<Sent & { ids?: string[] }>('send', { handle, text: text?.trim() === '' ? undefined : text, replyTo: args.values['reply-to'], attachments: files, confirm }), 'send')
    printSent(out, 'sent', r)
    // More files than one message carries went as several messages.
    if (r.ids != null && r.ids.length > 1) out.print({ event: 'sent-more', ids: r.ids }, `(${files.length} files in ${r.ids.length} messages: ${r.ids.map(x => x.slice(0, 8)).join(', ')})`)
  }
}

/** Why an attachment is not being fetched, as the CLI says it. */
const WAITING: Record<string, string> = {
  request: 'waiting: the sender is a message request; accept it (starling contacts --accept HANDLE) or add --download',
  budget: 'waiting: over the automatic download budget for this contact; add --download to fetch it',
  attempts: 'stopped: the sender could not be reached; add --download to try again',
  expired: 'expired: the partial download was removed; add --download to fetch it again'
}

export const attachmentCommand: Command = {
  name: 'attachment',
  summary: 'show the files of a message (name, size, type, how far each got); `save` writes them out under their own names; --download fetches them now',
  usage: 'starling attachment ID [save [DIR]] [--download] [--save FILE] [--data DIR]',
  examples: ['starling attachment 9c1e', 'starling attachment 9c1e save', 'starling attachment 9c1e save ~/Downloads', 'starling attachment 9c1e --download', 'starling attachment 9c1e --save ~/holiday.jpg'],
  options: { ...dataOption, download: { type: 'boolean' }, save: { type: 'string' } },
  help: {
    ...dataHelp,
    download: 'fetch it from the sender now (a message request\'s too, and beyond the automatic budgets)',
    save: 'write the received file to FILE (a new file; one file: a message of several takes `save [DIR]`, or name one file by its own id)'
  },
  notes: [ID_HELP],
  positionals: [{ name: 'ID', required: true }, { name: 'save', required: false }, { name: 'DIR', required: false }],
  async run ({ args, out }) {
    const [id, action, dir] = args.positionals
    if (action != null && action !== 'save') throw new UsageError(`attachment: expected 'save [DIR]' after the ID, got '${action}' (${ID_HELP}; the message id works)`)
    const save = args.values.save as string | undefined
    const params: Record<string, unknown> = { id, download: args.values.download === true }
    if (save != null) params.save = resolvePath(save)
    // `save` with no DIR: the daemon's downloads folder (inside the data directory unless the daemon was given --downloads).
    if (action === 'save') params.saveTo = dir != null ? resolvePath(dir) : ''
    const r = await (await connect(args)).call<FileInfo & { files?: FileInfo[] }>('attachment', params)
    // One line per file: a message id covers every file of the message.
    const files = r.files ?? [r]
    out.print({ event: 'attachment', ...r, files }, files.map(fileLine))
  }
}

/** One file as the daemon's `attachment` method reports it. */
interface FileInfo { id: string, message?: string, fileName: string, size: number, mimeType?: string, mine?: boolean, complete: boolean, receivedChunks: number, totalChunks: number, path: string | null, saved: boolean, encrypted: boolean, waiting?: string }

function fileLine (r: FileInfo): string {
  const what = `${r.fileName} (${formatSize(r.size)}${r.mimeType != null ? `, ${r.mimeType}` : ''})`
  const waiting = r.waiting != null ? ` (${WAITING[r.waiting] ?? r.waiting})` : ''
  const where = r.saved ? `saved to ${r.path ?? ''}` : r.path != null ? `stored at ${r.path}` : (r.encrypted ? `stored encrypted; write it out with: starling attachment ${(r.message ?? r.id).slice(0, 8)} save [DIR]` : '')
  if (r.complete) return `${what} complete: ${where}`
  if (r.mine === true) return `${what} sent by you; the file is not on this device (restored from a backup made without its files?)`
  return `${what} receiving: ${r.receivedChunks}/${plural(r.totalChunks, 'chunk')}${waiting}`
}

export const reactCommand: Command = {
  name: 'react',
  summary: 'react to a message with any emoji (or take the reaction back)',
  usage: 'starling react HANDLE ID EMOJI [--remove] [--data DIR]',
  examples: ['starling react bob 3f2a... 👍🏽', 'starling react bob 3f2a... 👍🏽 --remove'],
  options: { ...dataOption, remove: { type: 'boolean' } },
  help: { ...dataHelp, remove: 'take the reaction back' },
  notes: [ID_HELP],
  positionals: [{ name: 'HANDLE', required: true }, { name: 'ID', required: true }, { name: 'EMOJI', required: true }],
  async run ({ args, out }) {
    const [typed, id, emoji] = args.positionals
    const handle = handleArg('react', typed)
    const r = await (await connect(args)).call<Sent>('react', { handle, id, emoji, remove: args.values.remove === true })
    printSent(out, args.values.remove === true ? 'unreacted' : 'reacted', r)
  }
}

export const editCommand: Command = {
  name: 'edit',
  summary: 'edit one of your messages (the history of versions is kept)',
  usage: 'starling edit HANDLE ID TEXT [--data DIR]',
  examples: ['starling edit bob 3f2a... "hello, corrected"'],
  options: dataOption,
  help: dataHelp,
  notes: [ID_HELP],
  positionals: [{ name: 'HANDLE', required: true }, { name: 'ID', required: true }, { name: 'TEXT', required: true }],
  async run ({ args, out }) {
    const [typed, id, text] = args.positionals
    const handle = handleArg('edit', typed)
    if (text.trim() === '') throw new UsageError('edit: the TEXT is empty (to remove a message: starling delete HANDLE ID)')
    printSent(out, 'edited', await (await connect(args)).call<Sent>('edit', { handle, id, text }))
  }
}

export const deleteCommand: Command = {
  name: 'delete',
  summary: 'delete one of your messages for everyone',
  usage: 'starling delete HANDLE ID [--data DIR]',
  examples: ['starling delete bob 3f2a...'],
  options: dataOption,
  help: dataHelp,
  notes: [ID_HELP],
  positionals: [{ name: 'HANDLE', required: true }, { name: 'ID', required: true }],
  async run ({ args, out }) {
    const [typed, id] = args.positionals
    const handle = handleArg('delete', typed)
    printSent(out, 'deleted', await (await connect(args)).call<Sent>('delete', { handle, id }))
  }
}

export const resendCommand: Command = {
  name: 'resend',
  summary: 'send again a message that failed (undelivered when relays stopped holding it)',
  usage: 'starling resend ID [--data DIR]',
  examples: ['starling resend 3f2a...'],
  options: dataOption,
  help: dataHelp,
  notes: [ID_HELP],
  positionals: [{ name: 'ID', required: true }],
  async run ({ args, out }) {
    const [id] = args.positionals
    printSent(out, 'sent again', await (await connect(args)).call<Sent>('resend', { id }))
  }
}

export type { HistoryMessage } from '../message-format.js'

export const historyCommand: Command = {
  name: 'history',
  summary: 'show a conversation: messages in order, replies, reactions, edits, states',
  usage: 'starling history HANDLE [--limit N] [--data DIR]',
  examples: ['starling history bob --limit 20', 'starling history bob --json'],
  options: { ...dataOption, limit: { type: 'string' } },
  help: { ...dataHelp, limit: 'only the last N messages' },
  positionals: [{ name: 'HANDLE', required: true }],
  async run ({ args, out }) {
    const limit = args.values.limit != null ? Number(args.values.limit) : undefined
    if (limit != null && (!Number.isInteger(limit) || limit < 1)) throw new UsageError('--limit must be a whole number >= 1')
    const client = await connect(args)
    const h = await client.call<{ handle: string, account: string, self?: boolean, messages: HistoryMessage[] }>('history', { handle: handleArg('history', args.positionals[0]), limit })
    if (out.json) {
      for (const m of h.messages) out.print({ event: 'message', handle: h.handle, ...m }, '')
      return
    }
    const lines = [h.self === true ? `Note to Self (${h.handle}): kept on this device, sent to nobody` : `conversation with ${h.handle}`]
    for (const m of h.messages) {
      const mine = h.self === true || m.author.account !== h.account
      const who = mine ? 'you' : h.handle.split('~')[0]
      const reply = m.replyTo != null ? ` ↪ ${m.replyTo.id.slice(0, 8)}` : ''
      const reactions = m.reactions.length > 0 ? '  ' + m.reactions.map(r => `${r.emoji}${r.by.length > 1 ? r.by.length : ''}`).join(' ') : ''
      const state = mine && sendStateText(m) !== '' ? ` [${sendStateText(m)}]` : ''
      lines.push(`${m.id.slice(0, 8)} ${new Date(m.timestamp).toISOString().slice(11, 19)} ${who}:${reply} ${bodyText(m, mine)}${m.edited && !m.deleted ? ' (edited)' : ''}${reactions}${state}`)
      for (const text of earlierVersions(m)) lines.push(`         was: ${text}`)
    }
    out.print({}, lines)
  }
}

export const receiveCommand: Command = {
  name: 'receive',
  summary: 'print incoming messages and delivery updates as they happen',
  usage: 'starling receive [--follow] [--data DIR]',
  examples: ['starling receive --follow --json'],
  options: { ...dataOption, follow: { type: 'boolean' } },
  help: { ...dataHelp, follow: 'keep printing until interrupted (otherwise: wait for one event)' },
  async run ({ args, out, stopped }) {
    const client = await connect(args)
    const controller = new AbortController()
    stopped.then(() => controller.abort()).catch(() => {})
    // Ready once the daemon holds the subscription: an event sent after "ready" is never missed.
    const ready = (): void => { out.print({ event: 'ready' }, 'waiting for messages (Ctrl-C to stop)') }
    try {
      for await (const event of client.events(controller.signal, ready)) {
        out.print(event, describeEvent(event))
        if (args.values.follow !== true) return
      }
    } catch (err) {
      if ((err as Error).name === 'AbortError') return
      throw new DaemonNotRunningError(`lost the daemon for ${client.dataDir}: ${(err as Error).message}`)
    }
    // The stream ended without Ctrl-C: the daemon stopped. Scripts must not take that for success.
    if (!controller.signal.aborted) throw new DaemonNotRunningError(`the daemon for ${client.dataDir} stopped; start it again with: starling daemon --data ${client.dataDir} --bootstrap MULTIADDR`)
  }
}

/**
 * Marks a message from someone who is not a contact: anyone may call
 * themselves "alice", and only the tag after the name would tell them apart
 * from the alice you know.
 */
export function requestMark (e: Record<string, unknown>): string {
  return e.request === true ? ' [message request: not a contact]' : ''
}

/** The line `receive` prints for an event. */
export function describeEvent (e: Record<string, unknown>): string {
  switch (e.type) {
    case 'message': return `${e.direction === 'in' ? `from ${String(e.handle)}${requestMark(e)}` : 'sent'} ${String(e.kind)} ${String(e.id)}${e.text != null ? `: ${String(e.text)}` : ''}`
    case 'status': return `message ${String(e.id)} ${String(e.state)}${e.state === 'relayed' ? ` (held by ${plural(Number(e.relays), 'relay')})` : ''}`
    case 'typing': return `${String(e.handle)} ${e.on === true ? 'is typing' : 'stopped typing'}`
    case 'key-change': return `SAFETY WARNING: ${String(e.what)}`
    default: return JSON.stringify(e)
  }
}

export const safetyNumberCommand: Command = {
  name: 'safety-number',
  summary: 'show the 60-digit safety number (and QR payload) to compare with a contact',
  usage: 'starling safety-number HANDLE [--data DIR]',
  examples: ['starling safety-number bob'],
  options: dataOption,
  help: dataHelp,
  positionals: [{ name: 'HANDLE', required: true }],
  async run ({ args, out }) {
    const r = await (await connect(args)).call<{ handle: string, digits: string, qr: string, keyChange: { what: string } | null }>('safety-number', { handle: args.positionals[0] })
    const groups = r.digits.match(/.{5}/g) ?? []
    out.print({ event: 'safety-number', ...r }, [
      `safety number with ${r.handle}:`,
      `  ${groups.slice(0, 6).join(' ')}`,
      `  ${groups.slice(6).join(' ')}`,
      `QR payload: ${r.qr}`,
      ...(r.keyChange != null ? [`WARNING: ${r.keyChange.what}; compare the number, then: starling trust ${r.handle}`] : [])
    ])
  }
}

export const trustCommand: Command = {
  name: 'trust',
  summary: "accept a contact's current keys after a safety warning",
  usage: 'starling trust HANDLE [--data DIR]',
  examples: ['starling trust bob'],
  options: dataOption,
  help: dataHelp,
  positionals: [{ name: 'HANDLE', required: true }],
  async run ({ args, out }) {
    const r = await (await connect(args)).call<{ handle: string, devices: string[] }>('trust', { handle: args.positionals[0] })
    out.print({ event: 'trusted', ...r }, `trusted ${r.handle} (${r.devices.length} device${r.devices.length === 1 ? '' : 's'})`)
  }
}

export const contactsCommand: Command = {
  name: 'contacts',
  summary: 'list contacts and message requests; accept or block with --accept / --block',
  usage: 'starling contacts [--accept HANDLE | --block HANDLE] [--data DIR]',
  examples: ['starling contacts', 'starling contacts --accept carol~2bq7x9mzpa', 'starling contacts --block spam~aaaaaaaaaa'],
  options: { ...dataOption, accept: { type: 'string' }, block: { type: 'string' } },
  help: { ...dataHelp, accept: 'accept a message request', block: 'block a contact: their messages are dropped' },
  async run ({ args, out }) {
    const client = await connect(args)
    if (args.values.accept != null || args.values.block != null) {
      const method = args.values.accept != null ? 'accept' : 'block'
      const r = await client.call<{ handle: string, state: string }>(method, { handle: args.values.accept ?? args.values.block })
      out.print({ event: method, ...r }, `${r.handle} is now ${r.state}`)
      return
    }
    const list = await client.call<Array<{ handle: string, state: string, keyChange: { what: string } | null }>>('contacts')
    for (const c of list) out.print({ event: 'contact', ...c }, `${c.handle}  ${c.state}${c.keyChange != null ? `  WARNING: ${c.keyChange.what}` : ''}`)
  }
}
