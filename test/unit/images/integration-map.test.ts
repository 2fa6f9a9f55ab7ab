import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseImageReference} from '../../../src/images/image-reference.ts'
import {createIntegrationMap, InvalidIntegrationOptionError, parseIntegrationOption, parseIntegrationOptions} from '../../../src/images/integration-map.ts'
import type {IntegrationMap} from '../../../src/images/integration-map.ts'

const id = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

// What v1 GET /org/{orgId}/integrations answers: one id per type, source code integrations included.
const ORG = {
  github: id(100),
  'docker-hub': id(1),
  ecr: id(2),
  acr: id(3),
  gcr: id(4),
  'google-artifact-cr': id(5),
  'quay-cr': id(6),
  'github-cr': id(7),
  'gitlab-cr': id(8),
  'digitalocean-cr': id(9),
  'harbor-cr': id(10),
}

/** `discovered: null`: the org's integrations could not be discovered. */
function map(options: string[] = [], discovered: Record<string, string> | null = ORG): IntegrationMap {
  return createIntegrationMap(discovered === null ? {options: parseIntegrationOptions(options)} : {options: parseIntegrationOptions(options), discovered})
}

function chosen(integrations: IntegrationMap, registry: string): string {
  const answer = integrations.integrationFor(registry)
  return answer.outcome === 'integration' ? `${answer.integrationType}:${answer.integrationId}` : `skip:${answer.code}`
}

describe('integration map: well-known registries and the org\'s integrations', () => {
  const REGISTRIES: Array<[registry: string, expected: string]> = [
    ['docker.io', `docker-hub:${id(1)}`],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', `ecr:${id(2)}`],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', `ecr:${id(2)}`],
    ['123456789012.dkr.ecr-fips.us-east-1.amazonaws.com', `ecr:${id(2)}`],
    ['acme.azurecr.io', `acr:${id(3)}`],
    ['gcr.io', `gcr:${id(4)}`],
    ['eu.gcr.io', `gcr:${id(4)}`],
    ['europe-west1-docker.pkg.dev', `google-artifact-cr:${id(5)}`],
    ['quay.io', `quay-cr:${id(6)}`],
    ['ghcr.io', `github-cr:${id(7)}`],
    ['GHCR.IO', `github-cr:${id(7)}`],
    ['registry.gitlab.com', `gitlab-cr:${id(8)}`],
    ['registry.digitalocean.com', `digitalocean-cr:${id(9)}`],
    // A glob label never spans a dot; lookalikes and unknown hosts have no integration.
    ['a.b.dkr.ecr.eu-west-1.amazonaws.com', 'skip:no-integration'],
    ['azurecr.io', 'skip:no-integration'],
    ['public.ecr.aws', 'skip:no-integration'],
    ['ghcr.io.evil.example', 'skip:no-integration'],
    ['registry.k8s.io', 'skip:no-integration'],
    ['localhost:5000', 'skip:no-integration'],
  ]
  for (const [registry, expected] of REGISTRIES) {
    it(`maps ${registry} to ${expected}`, () => assert.equal(chosen(map(), registry), expected))
  }

  it('never uses a source code integration for a container registry', () => {
    assert.equal(chosen(map([], {github: id(100)}), 'ghcr.io'), 'skip:integration-not-in-org')
  })

  it('tells how to fix a well-known registry the org has no integration for', () => {
    assert.deepEqual(map([], {}).integrationFor('quay.io'), {
      outcome: 'skip',
      code: 'integration-not-in-org',
      reason: 'registry quay.io is Quay, and the Snyk org has no quay-cr integration',
      fix: 'add a Quay integration to the org in Snyk, or pass --integration quay.io=quay-cr:<integration id>',
    })
  })

  it('tells how to fix a registry with no integration at all', () => {
    assert.deepEqual(map().integrationFor('registry.acme.internal:5000'), {
      outcome: 'skip',
      code: 'no-integration',
      reason: 'no Snyk integration for registry registry.acme.internal:5000',
      fix: "add the registry's integration to the Snyk org and pass --integration registry.acme.internal:5000=TYPE:<integration id>",
    })
  })
})

describe('integration map: --integration entries', () => {
  it('lets an entry win over the well-known mapping', () => {
    assert.equal(chosen(map([`ghcr.io=github-cr:${id(70)}`]), 'ghcr.io'), `github-cr:${id(70)}`)
  })

  it('maps a self-hosted registry, port included', () => {
    const integrations = map([`harbor.acme.internal:8443=harbor-cr:${id(11)}`])
    assert.equal(chosen(integrations, 'harbor.acme.internal:8443'), `harbor-cr:${id(11)}`)
    assert.equal(chosen(integrations, 'harbor.acme.internal'), 'skip:no-integration')
  })

  it('matches one DNS label per * and any number with **', () => {
    const integrations = map([`*.registry.acme.internal=harbor-cr:${id(11)}`, `**.nexus.acme.internal=nexus-cr:${id(12)}`, `localhost:*=artifactory-cr:${id(13)}`])
    assert.equal(chosen(integrations, 'eu.registry.acme.internal'), `harbor-cr:${id(11)}`)
    assert.equal(chosen(integrations, 'a.eu.registry.acme.internal'), 'skip:no-integration')
    assert.equal(chosen(integrations, 'registry.acme.internal'), 'skip:no-integration')
    assert.equal(chosen(integrations, 'a.b.nexus.acme.internal'), `nexus-cr:${id(12)}`)
    assert.equal(chosen(integrations, 'nexus.acme.internal'), `nexus-cr:${id(12)}`)
    assert.equal(chosen(integrations, 'localhost:5000'), `artifactory-cr:${id(13)}`)
  })

  it('accepts brace alternatives', () => {
    const integrations = map([`{harbor,registry}.acme.io=harbor-cr:${id(11)}`])
    assert.equal(chosen(integrations, 'harbor.acme.io'), `harbor-cr:${id(11)}`)
    assert.equal(chosen(integrations, 'registry.acme.io'), `harbor-cr:${id(11)}`)
    assert.equal(chosen(integrations, 'other.acme.io'), 'skip:no-integration')
  })

  it('prefers an exact host to a glob given before it, and the first of two globs', () => {
    const integrations = map([`*.acme.io=harbor-cr:${id(11)}`, `*.acme.*=nexus-cr:${id(12)}`, `special.acme.io=artifactory-cr:${id(13)}`])
    assert.equal(chosen(integrations, 'special.acme.io'), `artifactory-cr:${id(13)}`)
    assert.equal(chosen(integrations, 'other.acme.io'), `harbor-cr:${id(11)}`)
    assert.equal(chosen(integrations, 'other.acme.dev'), `nexus-cr:${id(12)}`)
  })

  it('takes the type of HOST=ID from the org\'s discovered integrations', () => {
    assert.equal(chosen(map([`harbor.acme.internal=${id(10)}`]), 'harbor.acme.internal'), `harbor-cr:${id(10)}`)
  })

  it('writes Docker Hub\'s other host names as docker.io', () => {
    assert.equal(parseIntegrationOption(`index.docker.io=docker-hub:${id(20)}`).host, 'docker.io')
    assert.equal(chosen(map([`registry-1.docker.io=docker-hub:${id(20)}`]), 'docker.io'), `docker-hub:${id(20)}`)
  })

  it('refuses HOST=ID when the type cannot be known', () => {
    assert.throws(() => map([`harbor.acme.internal=${id(99)}`]), {
      name: 'InvalidIntegrationOptionError',
      message: `--integration "harbor.acme.internal=${id(99)}": integration ${id(99)} is not one of the org's container registry integrations (docker-hub, ecr, acr, gcr, google-artifact-cr, quay-cr, github-cr, gitlab-cr, digitalocean-cr, harbor-cr)`,
    })
    assert.throws(() => map([`harbor.acme.internal=${id(10)}`], null), /the org's integrations were not discovered/)
  })

  it('refuses a TYPE that contradicts the org\'s integration', () => {
    assert.throws(() => map([`harbor.acme.internal=nexus-cr:${id(10)}`]), (error: unknown) => error instanceof InvalidIntegrationOptionError && error.suggestion === `use --integration harbor.acme.internal=harbor-cr:${id(10)}`)
  })

  it('accepts HOST=TYPE:ID for an integration discovery did not list', () => {
    assert.equal(chosen(map([`nexus.acme.internal=nexus-cr:${id(12)}`], null), 'nexus.acme.internal'), `nexus-cr:${id(12)}`)
  })
})

describe('parseIntegrationOption', () => {
  it('parses HOST=TYPE:ID and HOST=ID', () => {
    assert.deepEqual(parseIntegrationOption(`*.dkr.ecr.*.amazonaws.com=ecr:${id(2)}`), {
      text: `*.dkr.ecr.*.amazonaws.com=ecr:${id(2)}`,
      host: '*.dkr.ecr.*.amazonaws.com',
      integrationId: id(2),
      integrationType: 'ecr',
    })
    assert.deepEqual(parseIntegrationOption(`Harbor.Acme.Internal=${id(10)}`), {text: `Harbor.Acme.Internal=${id(10)}`, host: 'harbor.acme.internal', integrationId: id(10)})
    assert.equal(parseIntegrationOption(`[::1]:5000=harbor-cr:${id(10)}`).host, '[::1]:5000')
  })

  const MALFORMED: Array<[entry: string, message: RegExp, suggestion: RegExp]> = [
    ['ghcr.io', /found no "="/, /HOST=TYPE:ID/],
    [`=${id(7)}`, /registry host before "=" is empty/, /HOST=TYPE:ID/],
    ['ghcr.io=', /no integration id after "ghcr.io="/, /HOST=TYPE:ID/],
    ['ghcr.io=github-cr:', /no integration id after "github-cr:"/, /HOST=TYPE:ID/],
    [`https://ghcr.io=${id(7)}`, /is a URL/, new RegExp(`--integration ghcr.io=${id(7)}`)],
    [`ghcr.io/acme=${id(7)}`, /has a path/, new RegExp(`--integration ghcr.io=${id(7)}`)],
    [`my registry=${id(7)}`, /is not a registry host pattern/, /letters, digits/],
    [`{a,b.acme.io=${id(7)}`, /unbalanced braces/, /\{a,b\}/],
    [`[::1]*=${id(7)}`, /is not a registry host pattern/, /letters, digits/],
    ['ghcr.io=github-cr:not-a-uuid', /"not-a-uuid" is not a Snyk integration id/, /settings page/],
    [`ghcr.io=github:${id(7)}`, /"github" is not a container registry integration type/, /use github-cr/],
    [`ghcr.io=registry:${id(7)}`, /"registry" is not a container registry integration type/, /docker-hub, ecr, acr/],
  ]
  for (const [entry, message, suggestion] of MALFORMED) {
    it(`rejects ${JSON.stringify(entry)}`, () => {
      assert.throws(
        () => parseIntegrationOption(entry),
        (error: unknown) =>
          error instanceof InvalidIntegrationOptionError &&
          error.option === entry &&
          error.exitCode === 2 &&
          error.message.startsWith(`--integration ${JSON.stringify(entry)}: `) &&
          message.test(error.message) &&
          suggestion.test(error.suggestion),
      )
    })
  }

  it('rejects one host mapped to two integrations, and tolerates a repeated entry', () => {
    assert.throws(() => parseIntegrationOptions([`ghcr.io=${id(7)}`, `GHCR.io=github-cr:${id(8)}`]), /registry ghcr.io is already mapped by --integration "ghcr.io=/)
    assert.equal(parseIntegrationOptions([`ghcr.io=${id(7)}`, `ghcr.io=github-cr:${id(7)}`]).length, 1)
  })
})

describe('planImport', () => {
  it('imports an image through its integration under the contract\'s target name', () => {
    const integrations = map([`harbor.acme.internal=harbor-cr:${id(10)}`])
    assert.deepEqual(integrations.planImport(parseImageReference('nginx:1.27')), {outcome: 'import', integrationId: id(1), integrationType: 'docker-hub', targetName: 'library/nginx:1.27'})
    assert.deepEqual(integrations.planImport(parseImageReference('123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:v2')), {outcome: 'import', integrationId: id(2), integrationType: 'ecr', targetName: 'team/api:v2'})
    assert.deepEqual(integrations.planImport(parseImageReference('harbor.acme.internal/payments/api:1')), {outcome: 'import', integrationId: id(10), integrationType: 'harbor-cr', targetName: 'payments/api:1'})
  })

  it('skips a digest-only image and an image without an integration', () => {
    const integrations = map()
    const digestOnly = integrations.planImport(parseImageReference(`ghcr.io/acme/api@sha256:${'a'.repeat(64)}`))
    assert.equal(digestOnly.outcome === 'skip' && digestOnly.code, 'digest-only')
    const unmapped = integrations.planImport(parseImageReference('registry.k8s.io/pause:3.9'))
    assert.equal(unmapped.outcome === 'skip' && unmapped.reason, 'no Snyk integration for registry registry.k8s.io')
  })
})
