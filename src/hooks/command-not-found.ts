// A mistyped command: say so with the words a user types (spaces, not oclif's colons), suggest the
// closest command, and exit 2. oclif loads this hook only when no command matches.
import type {Hook} from '@oclif/core'

import {EXIT} from '../lib/api/domain.js'
import {suggestCommand} from '../lib/cli/suggest.js'

const hook: Hook<'command_not_found'> = async function ({id, config}) {
  const spaced = (commandId: string) => commandId.replaceAll(':', ' ')
  const commandIds = config.commands.filter((command) => !command.hidden).map((command) => command.id)
  const suggestion = suggestCommand(id, commandIds)
  const words = spaced(id)
  const lines = [`Error: "${words}" is not a relctl command.${suggestion ? ` Did you mean "relctl ${spaced(suggestion)}"?` : ''}`]
  const topic = id.split(':')[0]
  const knownTopic = config.topics.some((candidate) => candidate.name === topic)
  lines.push(`Hint: see relctl ${knownTopic ? `${topic} ` : ''}--help`)
  process.stderr.write(`${lines.join('\n')}\n`)
  process.exitCode = EXIT.usage
  return true
}

export default hook
