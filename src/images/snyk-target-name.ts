// Snyk's container registry integration types, and the name an image is imported under through each.
//
// A v1 import (`POST /v1/org/{orgId}/integrations/{integrationId}/import`, body `{target: {name}}`) names
// the image without the registry host: the integration already knows the registry. The documented
// formats (schemas Importtargetsrequest8..10 of the v1 document) are:
//
//   docker-hub                                         organization/repository:tag
//   ecr, acr, artifactory-cr, nexus-cr                 repository:tag
//   gcr, google-artifact-cr, harbor-cr, quay-cr,       project/repository:tag
//     github-cr, gitlab-cr, digitalocean-cr
//
// In every case the name is the image's full repository path (everything after the registry host) and
// its tag; the formats differ in how many path segments that path must have:
// - Docker Hub paths are exactly `namespace/name`; official images are `library/nginx`, which is what the
//   normalised reference already holds.
// - ECR and ACR repository names may contain slashes (`team/app`), and for Artifactory and Nexus the
//   path is `repository-key/image` or deeper: the whole path is the "repository", never cut.
// - For the project registries the first segment is the project (GCP project, Harbor project, Quay
//   organisation, GitHub owner, GitLab group, DigitalOcean registry name) and the rest is the
//   repository, which may itself be nested: Artifact Registry `LOCATION-docker.pkg.dev/PROJECT/REPO/IMAGE`
//   gives `PROJECT/REPO/IMAGE:tag`, GitLab `registry.gitlab.com/group/project/image` gives
//   `group/project/image:tag`.
// Digests are not documented in the import name: a reference without a tag cannot be imported.

import type {ImageRef} from '../models/image.ts'
import {formatImageRef} from './image-reference.ts'

/** The container registry integration types of Snyk's v1 `IntegrationType`. */
export const CONTAINER_INTEGRATION_TYPES = [
  'docker-hub',
  'ecr',
  'acr',
  'gcr',
  'google-artifact-cr',
  'artifactory-cr',
  'nexus-cr',
  'harbor-cr',
  'quay-cr',
  'github-cr',
  'gitlab-cr',
  'digitalocean-cr',
] as const

export type ContainerIntegrationType = (typeof CONTAINER_INTEGRATION_TYPES)[number]

export function isContainerIntegrationType(value: string): value is ContainerIntegrationType {
  return (CONTAINER_INTEGRATION_TYPES as readonly string[]).includes(value)
}

/** Names people know the integrations by, as Snyk's settings page shows them. */
export const INTEGRATION_LABELS: Readonly<Record<ContainerIntegrationType, string>> = {
  'docker-hub': 'Docker Hub',
  ecr: 'Amazon ECR',
  acr: 'Azure Container Registry',
  gcr: 'Google Container Registry',
  'google-artifact-cr': 'Google Artifact Registry',
  'artifactory-cr': 'JFrog Artifactory',
  'nexus-cr': 'Nexus',
  'harbor-cr': 'Harbor',
  'quay-cr': 'Quay',
  'github-cr': 'GitHub Container Registry',
  'gitlab-cr': 'GitLab Container Registry',
  'digitalocean-cr': 'DigitalOcean Container Registry',
}

/** The documented target name format of an integration type, and the path segments it allows. */
export interface TargetNameFormat {
  format: 'organization/repository:tag' | 'repository:tag' | 'project/repository:tag'
  minSegments: number
  maxSegments: number
}

export function targetNameFormatOf(type: ContainerIntegrationType): TargetNameFormat {
  switch (type) {
    case 'docker-hub':
      return {format: 'organization/repository:tag', minSegments: 2, maxSegments: 2}
    case 'ecr':
    case 'acr':
    case 'artifactory-cr':
    case 'nexus-cr':
      return {format: 'repository:tag', minSegments: 1, maxSegments: Infinity}
    default:
      return {format: 'project/repository:tag', minSegments: 2, maxSegments: Infinity}
  }
}

/** Why an image is not submitted, with what the user can do about it. Codes are stable (JSON output). */
export interface ImageSkip {
  outcome: 'skip'
  code: 'digest-only' | 'repository-path' | 'no-integration' | 'integration-not-in-org'
  /** `image docker.io/library/nginx@sha256:... has no tag; Snyk imports images by tag`. */
  reason: string
  /** `reference the image by tag in the pod spec, e.g. nginx:1.27@sha256:...`. */
  fix: string
}

export type TargetNameResult = {outcome: 'name'; targetName: string} | ImageSkip

/** The v1 import target name of an image for an integration type, or why it cannot have one. */
export function snykTargetName(image: ImageRef, type: ContainerIntegrationType): TargetNameResult {
  const label = INTEGRATION_LABELS[type]
  if (image.tag === undefined) {
    return {
      outcome: 'skip',
      code: 'digest-only',
      reason: `image ${formatImageRef(image)} is referenced by digest only, and Snyk imports images by tag`,
      fix: `reference it by tag and digest in the pod spec (${formatImageRef({...image, tag: '<tag>'}, {familiar: true})})`,
    }
  }
  const {format, minSegments, maxSegments} = targetNameFormatOf(type)
  const segments = image.repository.split('/').length
  if (segments < minSegments || segments > maxSegments) {
    return {
      outcome: 'skip',
      code: 'repository-path',
      reason: `${label} (${type}) imports "${format}", and repository ${image.registry}/${image.repository} has ${segments} path segment(s)`,
      fix: `map registry ${image.registry} to the right integration with --integration ${image.registry}=TYPE:ID`,
    }
  }
  return {outcome: 'name', targetName: `${image.repository}:${image.tag}`}
}
