// The Snyk token never reaches the state file: no store API takes one, and error texts that quote one are redacted.
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'
import {redactSecrets} from '../../../src/state/redact-secrets.ts'
import {openStateStore} from '../../../src/state/state-store.ts'
import {observation, temporaryStatePath} from './fixtures/state-fixtures.ts'

const legacyToken = '3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60'
const patToken = 'snyk_uat.a1b2c3d4.eyJzdWIiOiJtZSJ9.c2lnbmF0dXJl'
const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib3QifQ.c2lnbmF0dXJlLXBhcnQ'

test('credentials quoted in error texts are redacted', () => {
  assert.equal(redactSecrets(`request failed: Authorization: token ${legacyToken}`), 'request failed: Authorization: [redacted]')
  assert.equal(redactSecrets(`{"authorization":"Bearer ${jwt}"}`), '{"authorization":"[redacted]"}')
  assert.equal(redactSecrets(`SNYK_TOKEN=${legacyToken} is invalid`), 'SNYK_TOKEN=[redacted] is invalid')
  assert.equal(redactSecrets(`GET https://api.snyk.io/rest/orgs?access_token=${legacyToken}&version=2024-10-15`), 'GET https://api.snyk.io/rest/orgs?access_token=[redacted]&version=2024-10-15')
  assert.equal(redactSecrets(`token was ${patToken}`), 'token was [redacted]')
  assert.equal(redactSecrets(`proxy https://bob:hunter2@proxy.corp:3128 refused`), 'proxy https://[redacted]@proxy.corp:3128 refused')
  const plain = 'Snyk answered 404 for org 3f1c2a9e-0000-4c6e-9f0a-1b2c3d4e5f60 integration 77a2'
  assert.equal(redactSecrets(plain), plain, 'ids that are not credentials are kept')
})

test('after a full run, no token-like string is anywhere in the state files', (t) => {
  const file = temporaryStatePath(t)
  const store = openStateStore(file)
  const run = store.beginRun('sync')
  const [key = ''] = store.recordObservations(run, 'kc#dev', [observation({target: 'kc#dev'})]).imageKeys
  store.claim(key, {runId: run, resubmitAfterMs: 0, leaseMs: 60_000})
  store.markSubmitting(key, run)
  store.recordFailed(key, run, {error: `POST /v1/org/o/integrations/i/import: 401 with Authorization: token ${legacyToken}`, retryable: false})
  assert.equal(store.getSubmission(key)?.error?.message, 'POST /v1/org/o/integrations/i/import: 401 with Authorization: [redacted]', 'the rest of the error is kept')
  const next = store.beginRun('sync')
  store.claim(key, {runId: next, resubmitAfterMs: 0, leaseMs: 60_000})
  store.recordSkipped(key, next, {reason: `token ${patToken} rejected`, fix: `unset SNYK_TOKEN=${jwt} and log in again`})
  store.finishRun(next, 'failed', {failed: 1})
  assert.match(store.getSubmission(key)?.skip?.reason ?? '', /\[redacted\]/)
  store.close()

  const dir = path.dirname(file)
  const bytes = readdirSync(dir).map((name) => readFileSync(path.join(dir, name)).toString('latin1')).join('\n')
  for (const secret of [legacyToken, patToken, jwt]) assert.ok(!bytes.includes(secret), `${secret} leaked into the state file`)
})

test('no state store API takes a credential', () => {
  // The store is handed observations, ids and outcomes, never the Snyk token: no parameter or field is named like one.
  const dir = path.join(import.meta.dirname, '../../../src/state')
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.ts') && file !== 'redact-secrets.ts')) {
    const code = readFileSync(path.join(dir, name), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '')
    assert.doesNotMatch(code, /\b\w*(token|password|secret|apikey|api_key|credential)\w*\s*[?]?:/i, `${name} declares a credential-like field or parameter`)
  }
})
