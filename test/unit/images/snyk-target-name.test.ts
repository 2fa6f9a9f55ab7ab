import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseImageReference} from '../../../src/images/image-reference.ts'
import {CONTAINER_INTEGRATION_TYPES, snykTargetName} from '../../../src/images/snyk-target-name.ts'
import type {ContainerIntegrationType} from '../../../src/images/snyk-target-name.ts'
import {checkTargetName, CONTAINER_INTEGRATION_TYPES as EMULATED_TYPES} from '../../emulator/target-name-rules.ts'

const DIGEST = `sha256:${'a'.repeat(64)}`

// An image of each registry -> the name its integration imports it under: never the host, always a tag.
const TARGET_NAMES: Array<[type: ContainerIntegrationType, reference: string, targetName: string]> = [
  ['docker-hub', 'nginx:1.27', 'library/nginx:1.27'],
  ['docker-hub', 'nginx', 'library/nginx:latest'],
  ['docker-hub', 'bitnami/redis:7', 'bitnami/redis:7'],
  ['docker-hub', `nginx:1.27@${DIGEST}`, 'library/nginx:1.27'],
  ['ecr', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v2', 'api:v2'],
  ['ecr', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/sub/api:v2', 'team/sub/api:v2'],
  ['acr', 'acme.azurecr.io/payments/api:3', 'payments/api:3'],
  ['artifactory-cr', 'acme.jfrog.io/docker-local/api:1', 'docker-local/api:1'],
  ['nexus-cr', 'nexus.acme.internal:8443/api:1', 'api:1'],
  ['gcr', 'gcr.io/acme-prod/api:1', 'acme-prod/api:1'],
  ['gcr', 'eu.gcr.io/acme-prod/tools/api:1', 'acme-prod/tools/api:1'],
  ['google-artifact-cr', 'europe-west1-docker.pkg.dev/acme-prod/images/api:1', 'acme-prod/images/api:1'],
  ['harbor-cr', 'harbor.acme.internal/payments/api:1', 'payments/api:1'],
  ['quay-cr', 'quay.io/prometheus/node-exporter:v1.8.2', 'prometheus/node-exporter:v1.8.2'],
  ['github-cr', 'ghcr.io/acme/api:sha-1a2b3c', 'acme/api:sha-1a2b3c'],
  ['gitlab-cr', 'registry.gitlab.com/acme/platform/api:main', 'acme/platform/api:main'],
  ['digitalocean-cr', 'registry.digitalocean.com/acme/api:1', 'acme/api:1'],
]

describe('snykTargetName', () => {
  it('knows the same integration types as the v1 contract', () => {
    assert.deepEqual([...CONTAINER_INTEGRATION_TYPES].sort(), [...EMULATED_TYPES].sort())
  })

  it('has a vector for every integration type', () => {
    assert.deepEqual(new Set(TARGET_NAMES.map(([type]) => type)), new Set(CONTAINER_INTEGRATION_TYPES))
  })

  for (const [type, reference, targetName] of TARGET_NAMES) {
    it(`names ${reference} for ${type} "${targetName}", as the import contract accepts`, () => {
      assert.deepEqual(snykTargetName(parseImageReference(reference), type), {outcome: 'name', targetName})
      assert.deepEqual(checkTargetName(type, targetName), [])
    })
  }

  it('skips a digest-only image for every type, saying how to give it a tag', () => {
    for (const type of CONTAINER_INTEGRATION_TYPES) {
      const result = snykTargetName(parseImageReference(`ghcr.io/acme/api@${DIGEST}`), type)
      assert.equal(result.outcome, 'skip')
      assert.equal(result.outcome === 'skip' && result.code, 'digest-only')
    }
    const result = snykTargetName(parseImageReference(`nginx@${DIGEST}`), 'docker-hub')
    assert.deepEqual(result, {
      outcome: 'skip',
      code: 'digest-only',
      reason: `image docker.io/library/nginx@${DIGEST} is referenced by digest only, and Snyk imports images by tag`,
      fix: `reference it by tag and digest in the pod spec (nginx:<tag>@${DIGEST})`,
    })
  })

  it('skips a repository path the integration cannot import', () => {
    const deepHub = snykTargetName(parseImageReference('docker.io/acme/team/api:1'), 'docker-hub')
    assert.equal(deepHub.outcome === 'skip' && deepHub.code, 'repository-path')
    const flatQuay = snykTargetName(parseImageReference('quay.example.com/api:1'), 'quay-cr')
    assert.equal(flatQuay.outcome === 'skip' && flatQuay.code, 'repository-path')
    assert.match(flatQuay.outcome === 'skip' ? flatQuay.reason : '', /project\/repository:tag/)
  })
})
