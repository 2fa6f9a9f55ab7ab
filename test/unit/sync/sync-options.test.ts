// `sync`'s gate options as resolved from flags and the environment: --fail-on implies --wait, --fail-on-new needs
// --fail-on, neither goes with --dry-run, and a severity outside the four is refused with the choices.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {UsageError} from '../../../src/errors.ts'
import {resolveSyncOptions} from '../../../src/sync/sync-options.ts'

const env = {HOME: '/nonexistent-home', SNYK_TOKEN: 'token-for-options-test', SNYK_WATCH_ORG: '3b1f0c6e-0000-4000-8000-000000000001'}

test('--fail-on implies --wait; from the environment too; --fail-on-new is off unless asked', () => {
  const flags = resolveSyncOptions({'fail-on': 'high'}, env, undefined)
  assert.deepEqual({failOn: flags.failOn, failOnNew: flags.failOnNew, wait: flags.wait}, {failOn: 'high', failOnNew: false, wait: true})
  const fromEnv = resolveSyncOptions({}, {...env, SNYK_WATCH_FAIL_ON: 'critical', SNYK_WATCH_FAIL_ON_NEW: 'true'}, undefined)
  assert.deepEqual({failOn: fromEnv.failOn, failOnNew: fromEnv.failOnNew, wait: fromEnv.wait}, {failOn: 'critical', failOnNew: true, wait: true})
  assert.equal(resolveSyncOptions({}, env, undefined).wait, false)
})

test('mistakes are usage errors with a fix: --fail-on-new alone, --fail-on with --dry-run, an unknown severity', () => {
  const refused = (flags: Record<string, unknown>, message: RegExp) =>
    assert.throws(() => resolveSyncOptions(flags, env, undefined), (error: unknown) => {
      assert.ok(error instanceof UsageError)
      assert.match(error.message, message)
      assert.ok(error.suggestions.length > 0)
      return true
    })
  refused({'fail-on-new': true}, /--fail-on-new needs --fail-on SEVERITY/)
  refused({'fail-on': 'high', 'dry-run': true}, /--fail-on cannot be used with --dry-run/)
  refused({'fail-on': 'severe'}, /--fail-on must be one of critical, high, medium, low, got "severe"/)
})
