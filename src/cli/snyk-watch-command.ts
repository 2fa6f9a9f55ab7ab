// The base of our commands: a mistake on the command line is answered as kubectl answers it, in a few lines
// (the error, the closest valid flag if there is one, where to read the usage) and exit 2, never with the
// command's whole usage, which only --help prints.
import {Command, Errors} from '@oclif/core'
import {stripVTControlCharacters} from 'node:util'
import {UsageError} from '../errors.ts'
import {closestName} from './closest-name.ts'

/** `--nme` -> `--name`: the closest of `flags` (long names without dashes) to a mistyped flag, if close enough. */
export function closestFlag(typed: string, flags: readonly string[]): string | undefined {
  const best = closestName(typed.replace(/^-+/, '').split('=')[0] ?? '', flags)
  return best === undefined ? undefined : `--${best}`
}

/** The short usage error for one of oclif's parse errors of `command` (e.g. `sync`) with long flags `flags`. */
export function shortUsageError(error: Errors.CLIError, command: string, flags: readonly string[]): UsageError {
  const headline = stripVTControlCharacters(error.message.split('\nSee more help with --help')[0] ?? error.message)
  const suggestions: string[] = []
  const unknown = (error as {flags?: unknown}).flags
  if (Array.isArray(unknown)) {
    for (const typed of unknown.map(String)) {
      const meant = closestFlag(typed, flags)
      if (meant) suggestions.push(`did you mean ${meant}? (for ${typed})`)
    }
  }
  suggestions.push(`See 'kubectl snyk-watch ${command} --help' for usage.`)
  return new UsageError(headline, {code: 'USAGE', suggestions})
}

export abstract class SnykWatchCommand extends Command {
  protected override async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    if (error instanceof Errors.CLIError && 'parse' in error) {
      const flags = Object.keys((this.constructor as typeof Command).flags ?? {})
      return super.catch(shortUsageError(error, this.id ?? '', flags))
    }
    return super.catch(error)
  }
}
