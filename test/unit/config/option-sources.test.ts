import assert from 'node:assert/strict'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {UsageError} from '../../../src/errors.ts'
import {resolveSyncOptions} from '../../../src/sync/sync-options.ts'

describe('every flag from the command line, the environment or a config file', () => {
  let dir: string
  let config: string
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'options-test-'))
    config = path.join(dir, 'config.yaml')
    await writeFile(config, 'org: from-file\nall-contexts: true\nexclude-namespace: [kube-system, kube-public]\nrate: 300\nresubmit-after: 12h\n')
  })
  after(() => rm(dir, {recursive: true, force: true}))

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({HOME: dir, SNYK_TOKEN: 'tok', ...extra})

  it('takes the config file when nothing else says otherwise (a CronJob needs no arguments)', () => {
    const options = resolveSyncOptions({}, env({SNYK_WATCH_CONFIG: config}), undefined)
    assert.equal(options.org, 'from-file')
    assert.equal(options.targets.allContexts, true)
    assert.deepEqual(options.scope.excludeNamespaces, ['kube-system', 'kube-public'])
    assert.equal(options.ratePerMinute, 300)
    assert.equal(options.resubmitAfterMs, 12 * 3600_000)
  })

  it('prefers the environment to the file, and flags to both', () => {
    const fromEnv = resolveSyncOptions({}, env({SNYK_WATCH_CONFIG: config, SNYK_WATCH_ORG: 'from-env', SNYK_WATCH_EXCLUDE_NAMESPACE: 'a,b', SNYK_WATCH_RATE: '120'}), undefined)
    assert.equal(fromEnv.org, 'from-env')
    assert.deepEqual(fromEnv.scope.excludeNamespaces, ['a', 'b'])
    assert.equal(fromEnv.ratePerMinute, 120)
    const fromFlag = resolveSyncOptions({org: 'from-flag', 'exclude-namespace': ['c'], rate: '60'}, env({SNYK_WATCH_ORG: 'from-env'}), config)
    assert.equal(fromFlag.org, 'from-flag')
    assert.deepEqual(fromFlag.scope.excludeNamespaces, ['c'])
    assert.equal(fromFlag.ratePerMinute, 60)
  })

  it('accepts one config file shared by every command', async () => {
    const shared = path.join(dir, 'shared.yaml')
    await writeFile(shared, 'org: o\nall-contexts: true\nfail-on: high\nrefresh: true\n')
    assert.equal(resolveSyncOptions({}, env({SNYK_WATCH_CONFIG: shared}), undefined).targets.allContexts, true)
  })

  it('explains bad values and unknown keys instead of guessing', async () => {
    const bad = (flags: Record<string, unknown>, extra: NodeJS.ProcessEnv, pattern: RegExp) =>
      assert.throws(() => resolveSyncOptions(flags, env(extra), undefined), (error: unknown) => error instanceof UsageError && error.exitCode === 2 && pattern.test(error.message))
    bad({org: 'o', rate: 'fast'}, {}, /--rate must be a whole number/)
    bad({org: 'o', 'resubmit-after': '90'}, {}, /duration with a unit/)
    bad({org: 'o'}, {SNYK_WATCH_WAIT: 'maybe'}, /SNYK_WATCH_WAIT for --wait must be true or false/)
    bad({}, {SNYK_TOKEN: ''}, /no Snyk API token/)
    bad({}, {}, /no Snyk organization/)
    const typo = path.join(dir, 'typo.yaml')
    await writeFile(typo, 'orgg: x\n')
    bad({}, {SNYK_WATCH_CONFIG: typo}, /unknown keys: orgg/)
  })

  it('reads the token from --token-file and never needs one for --dry-run', async () => {
    const tokenFile = path.join(dir, 'token')
    await writeFile(tokenFile, 'secret-from-file\n')
    assert.equal(resolveSyncOptions({org: 'o', 'token-file': tokenFile}, env({SNYK_TOKEN: ''}), undefined).token, 'secret-from-file')
    const dry = resolveSyncOptions({'dry-run': true}, env({SNYK_TOKEN: ''}), undefined)
    assert.equal(dry.token, undefined)
    assert.equal(dry.dryRun, true)
  })
})
