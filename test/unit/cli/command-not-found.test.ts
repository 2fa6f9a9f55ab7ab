// "Did you mean" for a mistyped command: oclif's "command X not found" becomes a usage error (exit 2) naming the
// command meant when one is close enough; every other error passes through unchanged.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {Errors} from '@oclif/core'
import {suggestCommand} from '../../../src/cli/command-not-found.ts'
import {UsageError} from '../../../src/errors.ts'

const commands = ['status', 'sync', 'watch']

test('a command one or two edits away is suggested; the error is a usage error (exit 2)', () => {
  for (const [typed, meant] of [['snyc', 'sync'], ['stauts', 'status'], ['wacth', 'watch'], ['syncc', 'sync']] as const) {
    const error = suggestCommand(new Errors.CLIError(`command ${typed} not found`), commands)
    assert.ok(error instanceof UsageError, typed)
    assert.equal(error.exitCode, 2)
    assert.equal(error.message, `unknown command "${typed}" for "kubectl snyk-watch"`)
    assert.equal(error.suggestions[0], `did you mean "${meant}"? kubectl snyk-watch ${meant}`)
  }
})

test('nothing close: only where the commands are listed; other errors unchanged', () => {
  const far = suggestCommand(new Errors.CLIError('command deploy not found'), commands) as UsageError
  assert.deepEqual(far.suggestions, ["See 'kubectl snyk-watch --help' for the commands: status, sync, watch."])
  const other = new Error('something else')
  assert.equal(suggestCommand(other, commands), other)
  assert.equal(suggestCommand('not an error', commands), 'not an error')
})
