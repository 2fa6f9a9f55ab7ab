// `kubectl snyk-watch snyc`: oclif answers a command it does not know with "command snyc not found". We answer
// as kubectl does: the unknown command, the closest one when there is one close enough, where to read the list;
// exit 2. Both entry points (bin/run.js, the single executable) pass oclif's error through here.
import {closestName} from './closest-name.ts'
import {UsageError} from '../errors.ts'

const notFound = /^command (\S+) not found$/

/** A UsageError with the suggestion for oclif's "command X not found" among `commands`; any other error unchanged. */
export function suggestCommand(error: unknown, commands: readonly string[]): unknown {
  const id = error instanceof Error ? notFound.exec(error.message)?.[1] : undefined
  if (id === undefined) return error
  const meant = closestName(id, commands)
  const suggestions = meant === undefined ? [] : [`did you mean "${meant}"? kubectl snyk-watch ${meant}`]
  suggestions.push(`See 'kubectl snyk-watch --help' for the commands: ${[...commands].sort().join(', ')}.`)
  return new UsageError(`unknown command "${id.replaceAll(':', ' ')}" for "kubectl snyk-watch"`, {code: 'UNKNOWN_COMMAND', suggestions})
}
