/**
 * The Snyk emulator as a test fixture: started for one test, closed after it, and the test fails if any
 * request it received (or response it sent) was off Snyk's contract.
 *
 *     test('imports the image', async (t) => {
 *       const snyk = await withSnykEmulator(t)
 *       ...
 *     })
 */
import type {TestContext} from 'node:test'
import {startSnykEmulator} from '../emulator/snyk-emulator.ts'
import type {SnykEmulator, SnykEmulatorOptions} from '../emulator/snyk-emulator.ts'

export async function withSnykEmulator(t: TestContext, options: SnykEmulatorOptions = {}): Promise<SnykEmulator> {
  const emulator = await startSnykEmulator(options)
  t.after(() => finishSnykEmulator(emulator))
  return emulator
}

/** The fixture's after-hook: closes the emulator, then throws if a contract violation was recorded. */
export async function finishSnykEmulator(emulator: SnykEmulator): Promise<void> {
  await emulator.close()
  emulator.assertNoViolations()
}

/** Headers of a well-behaved client: the token, and for v1 the Content-Type the v1 document requires. */
export function snykHeaders(emulator: SnykEmulator, api: 'v1' | 'rest', token: string = emulator.token): Record<string, string> {
  const authorization = `token ${token}`
  return api === 'v1' ? {authorization, 'content-type': 'application/json; charset=utf-8'} : {authorization, accept: 'application/vnd.api+json'}
}

/** Resolves a REST pagination link (`/orgs/...`, `/rest/orgs/...` or absolute) against the emulator. */
export function restLink(emulator: SnykEmulator, link: string): string {
  if (/^https?:\/\//.test(link)) return link
  return link.startsWith('/rest/') ? `${emulator.url}${link}` : `${emulator.url}/rest${link}`
}
