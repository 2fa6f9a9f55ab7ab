/**
 * Container registry integrations and the image name each one accepts in a v1 import.
 *
 * The v1 document describes three container request variants whose schemas are structurally identical
 * (`{target: {name: string}}`); what differs is the documented name format. The emulator enforces it:
 * - Docker Hub (`Importtargetsrequest8`): `organization/repository:tag`, exactly two path segments;
 * - ACR, ECR, Artifactory, Nexus (`Importtargetsrequest9`): `repository:tag`, one segment or more, because
 *   these registries allow namespaced repositories (`team/app`);
 * - GCR, Artifact Registry, Harbor, DigitalOcean, Quay, GitLab, GitHub (`Importtargetsrequest10`):
 *   `project/repository:tag`, two segments or more (Artifact Registry and GitLab nest deeper).
 * Always: no registry host in front, a tag at the end, no digest (digests are not documented).
 */

/** The container registry integration types of the v1 `IntegrationType` enum. */
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

export interface ImportVariant {
  /** Name of the request schema in the v1 document. */
  readonly schema: 'Importtargetsrequest8' | 'Importtargetsrequest9' | 'Importtargetsrequest10'
  /** The documented format of `target.name`. */
  readonly format: string
  readonly minSegments: number
  readonly maxSegments: number
}

const DOCKER_HUB: ImportVariant = {schema: 'Importtargetsrequest8', format: 'organization/repository:tag', minSegments: 2, maxSegments: 2}
const REPOSITORY: ImportVariant = {schema: 'Importtargetsrequest9', format: 'repository:tag', minSegments: 1, maxSegments: Infinity}
const PROJECT: ImportVariant = {schema: 'Importtargetsrequest10', format: 'project/repository:tag', minSegments: 2, maxSegments: Infinity}

export const IMPORT_VARIANT_SCHEMAS = [DOCKER_HUB.schema, REPOSITORY.schema, PROJECT.schema]

export function importVariantFor(type: ContainerIntegrationType): ImportVariant {
  switch (type) {
    case 'docker-hub':
      return DOCKER_HUB
    case 'acr':
    case 'ecr':
    case 'artifactory-cr':
    case 'nexus-cr':
      return REPOSITORY
    default:
      return PROJECT
  }
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

/** Messages describing why `name` is not a valid import target for `type`; empty when it is. */
export function checkTargetName(type: ContainerIntegrationType, name: string): string[] {
  const variant = importVariantFor(type)
  const expected = `${type} expects target.name as "${variant.format}" (${variant.schema})`
  if (name.includes('@')) return [`target.name "${name}" has a digest; ${expected} with a tag, digests are not documented`]
  const segments = name.split('/')
  const first = segments[0] ?? ''
  if (segments.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    return [`target.name "${name}" starts with the registry host "${first}"; ${expected} without the host`]
  }
  const last = segments[segments.length - 1] ?? ''
  const colon = last.lastIndexOf(':')
  const problems: string[] = []
  if (colon < 0 || !TAG.test(last.slice(colon + 1))) problems.push(`target.name "${name}" has no valid tag; ${expected}`)
  if (segments.some((segment, i) => (i === segments.length - 1 ? (colon < 0 ? segment : segment.slice(0, colon)) : segment) === '')) {
    problems.push(`target.name "${name}" has an empty path segment; ${expected}`)
  }
  if (segments.length < variant.minSegments || segments.length > variant.maxSegments) {
    problems.push(`target.name "${name}" has ${segments.length} path segment(s); ${expected}`)
  }
  return problems
}

/** `library/nginx:1.27` -> `{repository: 'library/nginx', tag: '1.27'}` (for a name that passed the check). */
export function splitTargetName(name: string): {repository: string; tag: string} {
  const colon = name.lastIndexOf(':')
  return colon < 0 ? {repository: name, tag: 'latest'} : {repository: name.slice(0, colon), tag: name.slice(colon + 1)}
}
