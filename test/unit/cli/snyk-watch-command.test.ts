import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {Errors} from '@oclif/core'
import {closestFlag, shortUsageError} from '../../../src/cli/snyk-watch-command.ts'
import {ExitCode} from '../../../src/errors.ts'

const flags = ['kubeconfig', 'context', 'all-contexts', 'namespace', 'concurrency', 'rate', 'dry-run', 'org']

describe('usage errors', () => {
  it('offers the closest flag for a typo, and nothing for a word far from every flag', () => {
    assert.equal(closestFlag('--concurency', flags), '--concurrency')
    assert.equal(closestFlag('--namespcae=shop', flags), '--namespace')
    assert.equal(closestFlag('--dryrun', flags), '--dry-run')
    assert.equal(closestFlag('--orgg', flags), '--org')
    assert.equal(closestFlag('--zzzzzzzz', flags), undefined)
    assert.equal(closestFlag('--x', flags), undefined)
  })

  it("turns oclif's parse error into a short usage error: exit 2, the flag meant, where the usage is", () => {
    const parseError = new Errors.CLIError('Nonexistent flag: --concurency\nSee more help with --help')
    Object.assign(parseError, {parse: {}, flags: ['--concurency']})
    const error = shortUsageError(parseError, 'sync', flags)
    assert.equal(error.message, 'Nonexistent flag: --concurency')
    assert.equal(error.exitCode, ExitCode.usage)
    assert.deepEqual(error.suggestions, ['did you mean --concurrency? (for --concurency)', "See 'kubectl snyk-watch sync --help' for usage."])
  })
})
