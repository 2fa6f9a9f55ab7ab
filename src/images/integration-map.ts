// Which Snyk integration an image is imported through, and under which name.
//
// An image's registry host is mapped to one of the org's container registry integrations:
// 1. `--integration HOST=TYPE:ID` / `--integration HOST=ID` entries (explicit entries win). HOST is the
//    registry as written in image references, port included (`localhost:5000`), or a glob over it.
//    Globs work on DNS labels: `*` and `?` never match across a `.` (`*.azurecr.io` matches
//    `acme.azurecr.io`, not `a.b.azurecr.io` and not `azurecr.io`), `**` matches any number of labels
//    including none, `{a,b}` lists alternatives. Matching ignores case. An exact host wins over globs;
//    among globs, the first given wins.
//    ID is the integration id shown in Snyk's settings. TYPE (`ecr`, `harbor-cr`, ...) may be left out
//    when ID is one of the org's discovered integrations, whose type is then known; a self-hosted
//    registry's type can be told by nothing else, so it must be given when discovery is not available.
// 2. Well-known registry hosts whose integration type is certain (Docker Hub, ECR, ACR, GCR, Artifact
//    Registry, Quay, GitHub, GitLab, DigitalOcean), with the id the org has for that type, as
//    `GET /v1/org/{orgId}/integrations` answers (`{"ecr": "<id>", ...}`).
// 3. Otherwise the image is skipped, with the reason and the fix.

import picomatch from 'picomatch'
import type {ImageRef} from '../models/image.ts'
import {DOCKER_HUB_REGISTRY} from './image-reference.ts'
import {CONTAINER_INTEGRATION_TYPES, INTEGRATION_LABELS, isContainerIntegrationType, snykTargetName} from './snyk-target-name.ts'
import type {ContainerIntegrationType, ImageSkip} from './snyk-target-name.ts'
import {UsageError} from '../errors.ts'

/** One parsed `--integration` entry. */
export interface IntegrationOption {
  /** The entry as given. */
  text: string
  /** Registry host pattern, lowercased; Docker Hub's other host names are written `docker.io`. */
  host: string
  integrationId: string
  integrationType?: ContainerIntegrationType
}

/** A malformed `--integration` entry, or one that cannot be resolved against the org: a usage error. */
export class InvalidIntegrationOptionError extends UsageError {
  /** The entry as given. */
  readonly option: string
  readonly suggestion: string

  constructor(option: string, problem: string, suggestion: string) {
    super(`--integration ${JSON.stringify(option)}: ${problem}`, {code: 'INVALID_INTEGRATION_OPTION', suggestions: [suggestion]})
    this.name = 'InvalidIntegrationOptionError'
    this.option = option
    this.suggestion = suggestion
  }
}

/** The org's integrations by type, as v1 `GET /org/{orgId}/integrations` answers; non-container types are ignored. */
export type DiscoveredIntegrations = Readonly<Record<string, string>>

/** Registry hosts whose Snyk integration type is certain. */
export const WELL_KNOWN_REGISTRIES: ReadonlyArray<{host: string; type: ContainerIntegrationType}> = [
  {host: DOCKER_HUB_REGISTRY, type: 'docker-hub'},
  {host: '*.dkr.ecr.*.amazonaws.com', type: 'ecr'},
  {host: '*.dkr.ecr.*.amazonaws.com.cn', type: 'ecr'},
  {host: '*.dkr.ecr-fips.*.amazonaws.com', type: 'ecr'},
  {host: '*.azurecr.{io,cn,us}', type: 'acr'},
  {host: '{gcr.io,*.gcr.io}', type: 'gcr'},
  {host: '*-docker.pkg.dev', type: 'google-artifact-cr'},
  {host: 'quay.io', type: 'quay-cr'},
  {host: 'ghcr.io', type: 'github-cr'},
  {host: 'registry.gitlab.com', type: 'gitlab-cr'},
  {host: 'registry.digitalocean.com', type: 'digitalocean-cr'},
]

/** An image that will be imported: through which integration, under which name. */
export interface ImageImport {
  outcome: 'import'
  integrationId: string
  integrationType: ContainerIntegrationType
  targetName: string
}

export type ImportPlan = ImageImport | ImageSkip

/** The integration chosen for a registry host. */
export interface RegistryIntegration {
  outcome: 'integration'
  integrationId: string
  integrationType: ContainerIntegrationType
  /** What chose it: an `--integration` entry (as given) or the well-known host pattern. */
  via: {option: string} | {wellKnown: string}
}

export interface IntegrationMap {
  /** The integration for a registry host (`ghcr.io`, `localhost:5000`), or why there is none. */
  integrationFor(registry: string): RegistryIntegration | ImageSkip
  /** How an image is imported, or why it is skipped. */
  planImport(image: ImageRef): ImportPlan
}

export interface IntegrationMapOptions {
  /** Parsed `--integration` entries, in the order given. */
  options?: readonly IntegrationOption[]
  /** The org's integrations; undefined when they could not be discovered. */
  discovered?: DiscoveredIntegrations
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const HOST_PATTERN = /^[a-z0-9.\-:*?{},]+$/
const IPV6_HOST = /^\[[a-f0-9:]+\](?::[0-9]+)?$/
const GLOB_CHARACTERS = /[*?{]/
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(['index.docker.io', 'registry-1.docker.io'])
const FORMAT_HINT = 'write it as HOST=TYPE:ID or HOST=ID, e.g. --integration "*.dkr.ecr.*.amazonaws.com=ecr:<integration id>"'

/**
 * Parse one `--integration HOST=TYPE:ID` (or `HOST=ID`) entry.
 * @throws InvalidIntegrationOptionError with a precise message when it is malformed.
 */
export function parseIntegrationOption(text: string): IntegrationOption {
  const fail = (problem: string, suggestion: string): never => {
    throw new InvalidIntegrationOptionError(text, problem, suggestion)
  }
  const equals = text.indexOf('=')
  if (equals < 0) fail('expected HOST=TYPE:ID or HOST=ID, found no "="', FORMAT_HINT)
  const rawHost = text.slice(0, equals).trim()
  const value = text.slice(equals + 1).trim()
  if (rawHost === '') fail('the registry host before "=" is empty', FORMAT_HINT)
  if (value === '') fail(`no integration id after "${rawHost}="`, FORMAT_HINT)

  const host = rawHost.toLowerCase()
  const scheme = host.indexOf('://')
  if (scheme >= 0) {
    fail(`"${rawHost}" is a URL; HOST is the registry as written in image references`, `use --integration ${hostOf(rawHost.slice(scheme + 3))}=${value}`)
  }
  if (host.includes('/')) {
    fail(`"${rawHost}" has a path; HOST is only the registry host (and port) of the images`, `use --integration ${hostOf(rawHost)}=${value}`)
  }
  const isGlob = GLOB_CHARACTERS.test(host)
  if (!HOST_PATTERN.test(host) && !(IPV6_HOST.test(host) && !isGlob)) {
    fail(
      `"${rawHost}" is not a registry host pattern`,
      'HOST may contain letters, digits, ".", "-", ":" before a port, and the globs "*", "?", "**" and "{a,b}"',
    )
  }
  if (isGlob && countOf(host, '{') !== countOf(host, '}')) fail(`"${rawHost}" has unbalanced braces`, 'write alternatives as {a,b}')

  const colon = value.indexOf(':')
  const typeText = colon < 0 ? undefined : value.slice(0, colon).trim()
  const integrationId = colon < 0 ? value : value.slice(colon + 1).trim()
  if (integrationId === '') fail(`no integration id after "${typeText ?? ''}:"`, FORMAT_HINT)
  if (!UUID.test(integrationId)) {
    fail(`"${integrationId}" is not a Snyk integration id (a UUID)`, 'copy the integration id from the integration\'s settings page in Snyk')
  }
  const option: IntegrationOption = {text, host: DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB_REGISTRY : host, integrationId}
  if (typeText !== undefined) {
    if (!isContainerIntegrationType(typeText)) {
      const containerVariant = `${typeText}-cr`
      fail(
        `"${typeText}" is not a container registry integration type`,
        isContainerIntegrationType(containerVariant)
          ? `use ${containerVariant}, the container registry integration (${typeText} is the source code one)`
          : `use one of ${CONTAINER_INTEGRATION_TYPES.join(', ')}`,
      )
    } else {
      option.integrationType = typeText
    }
  }
  return option
}

/**
 * Parse every `--integration` entry; the same host given twice for different integrations is an error.
 * @throws InvalidIntegrationOptionError
 */
export function parseIntegrationOptions(texts: readonly string[]): IntegrationOption[] {
  const options: IntegrationOption[] = []
  const byHost = new Map<string, IntegrationOption>()
  for (const text of texts) {
    const option = parseIntegrationOption(text)
    const earlier = byHost.get(option.host)
    if (earlier === undefined) {
      byHost.set(option.host, option)
      options.push(option)
    } else if (earlier.integrationId.toLowerCase() !== option.integrationId.toLowerCase() || (option.integrationType !== undefined && earlier.integrationType !== undefined && option.integrationType !== earlier.integrationType)) {
      throw new InvalidIntegrationOptionError(text, `registry ${option.host} is already mapped by --integration ${JSON.stringify(earlier.text)}`, 'give each registry host one integration')
    }
  }
  return options
}

interface Rule {
  host: string
  matches: (registry: string) => boolean
  integrationId: string
  integrationType: ContainerIntegrationType
  via: RegistryIntegration['via']
}

/**
 * Build the registry -> integration map from the `--integration` entries and the org's integrations.
 * @throws InvalidIntegrationOptionError when an entry without TYPE names an integration the org does not
 *   have, or its TYPE contradicts the org's.
 */
export function createIntegrationMap(settings: IntegrationMapOptions = {}): IntegrationMap {
  const discovered = containerIntegrationsOf(settings.discovered)
  const typeOfId = new Map(Object.entries(discovered).map(([type, id]) => [id.toLowerCase(), type as ContainerIntegrationType]))

  const explicit = (settings.options ?? []).map((option): Rule => {
    const knownType = typeOfId.get(option.integrationId.toLowerCase())
    const integrationType = option.integrationType ?? knownType
    if (integrationType === undefined) {
      const found = Object.keys(discovered)
      throw new InvalidIntegrationOptionError(
        option.text,
        settings.discovered === undefined
          ? `the type of integration ${option.integrationId} is unknown (the org's integrations were not discovered)`
          : `integration ${option.integrationId} is not one of the org's container registry integrations (${found.length === 0 ? 'it has none' : found.join(', ')})`,
        `give its type: --integration ${option.host}=TYPE:${option.integrationId}, TYPE one of ${CONTAINER_INTEGRATION_TYPES.join(', ')}`,
      )
    }
    if (knownType !== undefined && knownType !== integrationType) {
      throw new InvalidIntegrationOptionError(
        option.text,
        `integration ${option.integrationId} is the org's ${knownType} integration, not ${integrationType}`,
        `use --integration ${option.host}=${knownType}:${option.integrationId}`,
      )
    }
    return {host: option.host, matches: hostMatcher(option.host), integrationId: option.integrationId, integrationType, via: {option: option.text}}
  })
  // An exact host wins over globs; otherwise the order given.
  const rules = [...explicit.filter((rule) => !GLOB_CHARACTERS.test(rule.host)), ...explicit.filter((rule) => GLOB_CHARACTERS.test(rule.host))]
  const wellKnown = WELL_KNOWN_REGISTRIES.map((entry) => ({...entry, matches: hostMatcher(entry.host)}))

  const cache = new Map<string, RegistryIntegration | ImageSkip>()
  const integrationFor = (registry: string): RegistryIntegration | ImageSkip => {
    const host = registry.toLowerCase()
    let answer = cache.get(host)
    if (answer === undefined) {
      answer = resolve(host)
      cache.set(host, answer)
    }
    return answer
  }
  const resolve = (host: string): RegistryIntegration | ImageSkip => {
    const rule = rules.find((candidate) => candidate.matches(host))
    if (rule !== undefined) return {outcome: 'integration', integrationId: rule.integrationId, integrationType: rule.integrationType, via: rule.via}
    const known = wellKnown.find((candidate) => candidate.matches(host))
    if (known === undefined) {
      return {
        outcome: 'skip',
        code: 'no-integration',
        reason: `no Snyk integration for registry ${host}`,
        fix: `add the registry's integration to the Snyk org and pass --integration ${host}=TYPE:<integration id>`,
      }
    }
    const integrationId = discovered[known.type]
    if (integrationId === undefined) {
      const label = INTEGRATION_LABELS[known.type]
      return {
        outcome: 'skip',
        code: 'integration-not-in-org',
        reason: `registry ${host} is ${label}, and the Snyk org has no ${known.type} integration`,
        fix: `add a ${label} integration to the org in Snyk, or pass --integration ${host}=${known.type}:<integration id>`,
      }
    }
    return {outcome: 'integration', integrationId, integrationType: known.type, via: {wellKnown: known.host}}
  }

  return {
    integrationFor,
    planImport(image: ImageRef): ImportPlan {
      const integration = integrationFor(image.registry)
      if (integration.outcome === 'skip') return integration
      const name = snykTargetName(image, integration.integrationType)
      if (name.outcome === 'skip') return name
      return {outcome: 'import', integrationId: integration.integrationId, integrationType: integration.integrationType, targetName: name.targetName}
    },
  }
}

function containerIntegrationsOf(discovered: DiscoveredIntegrations | undefined): Partial<Record<ContainerIntegrationType, string>> {
  const result: Partial<Record<ContainerIntegrationType, string>> = {}
  for (const [type, id] of Object.entries(discovered ?? {})) {
    if (isContainerIntegrationType(type) && typeof id === 'string' && id !== '') result[type] = id
  }
  return result
}

/**
 * A matcher for a host pattern. Hosts and patterns are compared as paths of DNS labels (`.` -> `/`),
 * so picomatch's `*` stays within one label and `**` spans labels; patterns without glob characters
 * (IPv6 literals included) are compared exactly.
 */
function hostMatcher(pattern: string): (registry: string) => boolean {
  if (!GLOB_CHARACTERS.test(pattern)) return (registry) => registry === pattern
  const labels = (host: string): string => host.split('.').join('/')
  const isMatch = picomatch(labels(pattern), {dot: true, nocase: true, nonegate: true, noextglob: true})
  return (registry) => isMatch(labels(registry))
}

function hostOf(text: string): string {
  const slash = text.indexOf('/')
  return slash < 0 ? text : text.slice(0, slash)
}

function countOf(text: string, character: string): number {
  return text.split(character).length - 1
}
