/**
 * Runs a Snyk emulator until SIGINT/SIGTERM (used by `npm run dev:cluster`).
 *
 *     node test/emulator/main.ts [--port 0] [--token T] [--seed S] [--link-style relative|rest-relative|absolute]
 *
 * Prints one JSON line on stdout: {url, v1Url, restUrl, orgId, orgSlug, token, integrations}. Contract
 * violations go to stderr as they happen; the exit code is 1 if there were any.
 */
import {parseArgs} from 'node:util'
import {describeViolations} from './contract-violation.ts'
import type {LinkStyle} from './pagination.ts'
import {startSnykEmulator} from './snyk-emulator.ts'

const LINK_STYLES: readonly LinkStyle[] = ['relative', 'rest-relative', 'absolute']

const {values} = parseArgs({
  options: {
    port: {type: 'string', default: '0'},
    token: {type: 'string'},
    seed: {type: 'string'},
    'link-style': {type: 'string', default: 'relative'},
  },
})

const port = Number(values.port)
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${values.port}`)
const linkStyle = LINK_STYLES.find((style) => style === values['link-style'])
if (!linkStyle) throw new Error(`--link-style must be one of ${LINK_STYLES.join(', ')}`)

const emulator = await startSnykEmulator({
  port,
  linkStyle,
  ...(values.token ? {token: values.token} : {}),
  ...(values.seed ? {seed: values.seed} : {}),
  onViolation: (violation) => console.error(describeViolations([violation])),
})

console.log(
  JSON.stringify({
    url: emulator.url,
    v1Url: `${emulator.url}/v1`,
    restUrl: `${emulator.url}/rest`,
    orgId: emulator.orgId,
    orgSlug: emulator.world.defaultOrg.slug,
    token: emulator.token,
    integrations: emulator.integrations(),
  }),
)

const stop = async (): Promise<void> => {
  await emulator.close()
  process.exitCode = emulator.violations.length > 0 ? 1 : 0
}
process.once('SIGINT', () => void stop())
process.once('SIGTERM', () => void stop())
