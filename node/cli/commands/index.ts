/** Every `starling` command, in the order help lists them. */
import type { Command } from '../command.js'
import { exportCommand, importCommand } from './backup.js'
import { initCommand } from './init.js'
import { useCommand } from './use.js'
import { daemonCommand } from './daemon.js'
import { relayCommand } from './relay.js'
import { resolveCommand, statusCommand, whoamiCommand } from './client.js'
import { chatCommand } from './chat.js'
import { callCommand } from './call.js'
import { attachmentCommand, contactsCommand, deleteCommand, editCommand, historyCommand, reactCommand, receiveCommand, resendCommand, safetyNumberCommand, sendCommand, trustCommand } from './messages.js'

export const commands: Command[] = [
  initCommand,
  useCommand,
  daemonCommand,
  relayCommand,
  resolveCommand,
  whoamiCommand,
  statusCommand,
  sendCommand,
  reactCommand,
  editCommand,
  deleteCommand,
  resendCommand,
  historyCommand,
  chatCommand,
  callCommand,
  receiveCommand,
  safetyNumberCommand,
  trustCommand,
  contactsCommand,
  attachmentCommand,
  exportCommand,
  importCommand
]
