// Parse and print container image references the way the container tooling does.
//
// The grammar and the normalisation are those of the Go package distribution/reference (used by Docker,
// containerd, CRI-O and the kubelet), `ParseNormalizedNamed` followed by `TagNameOnly`:
//
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [ domain "/" ] path-component [ "/" path-component ]*      (at most 255 characters)
//   domain     := host [ ":" port ]     host: DNS-like labels, IPv4, or an IPv6 address in brackets
//   path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//   digest     := algorithm ":" hex     (sha256, sha384 or sha512, lowercase hex of the right length)
//
// Normalisation: the first path element is a registry only when it is `localhost`, contains `.` or `:`,
// or has uppercase letters; otherwise the registry is `docker.io`. `index.docker.io` and (our addition,
// the host Docker Hub actually serves from) `registry-1.docker.io` become `docker.io`; a single-element
// Docker Hub repository gets the `library/` namespace; `latest` is the tag only when the reference has
// neither tag nor digest.
//
// Written here rather than taken from npm: the maintained ports (`@swimlane/docker-reference`) use a
// regular expression that backtracks exponentially on a malformed name (a 21-character input took
// 110 s), and the others do not validate or normalise. Pod specs may hold any string, so the parser
// works component by component with linear-time checks.

import type {ImageRef} from '../models/image.ts'

/** Why a reference was rejected; stable, for machine-readable output. */
export type InvalidImageReferenceReason =
  | 'empty'
  | 'image-id'
  | 'uppercase'
  | 'name-too-long'
  | 'invalid-registry'
  | 'invalid-repository'
  | 'invalid-tag'
  | 'invalid-digest'

/** A string that is not a valid container image reference. */
export class InvalidImageReferenceError extends Error {
  override readonly name = 'InvalidImageReferenceError'
  readonly code = 'INVALID_IMAGE_REFERENCE'
  /** The text that was parsed, as given. */
  readonly reference: string
  readonly reason: InvalidImageReferenceReason
  /** What is wrong, without the reference: `repository name must be lowercase`. */
  readonly detail: string

  constructor(reference: string, reason: InvalidImageReferenceReason, detail: string) {
    super(`invalid image reference ${JSON.stringify(reference)}: ${detail}`)
    this.reference = reference
    this.reason = reason
    this.detail = detail
  }
}

export const DOCKER_HUB_REGISTRY = 'docker.io'
/** Host names that mean Docker Hub, normalised to `docker.io`. */
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(['index.docker.io', 'registry-1.docker.io'])
const OFFICIAL_NAMESPACE = 'library'
const DEFAULT_TAG = 'latest'
const NAME_MAX_LENGTH = 255

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const DOMAIN_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/
const IPV6_HOST = /^\[[a-fA-F0-9:]+\]$/
const PORT = /^[0-9]+$/
const TAG = /^\w[\w.-]{0,127}$/
const IMAGE_ID = /^[a-f0-9]{64}$/
const DIGEST_ALGORITHM = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*$/
/** Hex length of each digest algorithm the container tooling accepts. */
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = {sha256: 64, sha384: 96, sha512: 128}

/**
 * Parse an image reference as written in a pod spec and normalise it: `nginx` gives
 * `{registry: 'docker.io', repository: 'library/nginx', tag: 'latest'}`.
 * @throws InvalidImageReferenceError when the text is not a valid reference.
 */
export function parseImageReference(text: string): ImageRef {
  const fail = (reason: InvalidImageReferenceReason, detail: string): never => {
    throw new InvalidImageReferenceError(text, reason, detail)
  }
  if (text === '') fail('empty', 'reference is empty')
  if (IMAGE_ID.test(text)) fail('image-id', 'a 64-character hexadecimal string is an image id, not a repository name')

  const {registry, remainder} = splitRegistry(text)

  const at = remainder.indexOf('@')
  const nameAndTag = at < 0 ? remainder : remainder.slice(0, at)
  const digest = at < 0 ? undefined : remainder.slice(at + 1)
  const lastSlash = nameAndTag.lastIndexOf('/')
  const colon = nameAndTag.indexOf(':', lastSlash + 1)
  const repository = colon < 0 ? nameAndTag : nameAndTag.slice(0, colon)
  const tag = colon < 0 ? undefined : nameAndTag.slice(colon + 1)

  if (repository.toLowerCase() !== repository) fail('uppercase', `repository name "${repository}" must be lowercase`)
  if (!isValidRegistry(registry)) fail('invalid-registry', `"${registry}" is not a valid registry host[:port]`)
  const badComponent = repository.split('/').find((component) => !PATH_COMPONENT.test(component))
  if (badComponent !== undefined) {
    fail(
      'invalid-repository',
      badComponent === ''
        ? `repository "${repository}" has an empty path component`
        : `repository path component "${badComponent}" must be lowercase letters and digits separated by ".", "_", "__" or "-"`,
    )
  }
  const nameLength = registry.length + 1 + repository.length
  if (nameLength > NAME_MAX_LENGTH) fail('name-too-long', `repository name is ${nameLength} characters, more than ${NAME_MAX_LENGTH}`)
  if (tag !== undefined && !TAG.test(tag)) {
    fail('invalid-tag', tag.length > 128 ? `tag is ${tag.length} characters, more than 128` : `tag "${tag}" must be letters, digits, "_", "." or "-", not starting with "." or "-"`)
  }
  if (digest !== undefined) {
    const problem = digestProblem(digest)
    if (problem !== undefined) fail('invalid-digest', problem)
  }

  const ref: ImageRef = {registry, repository}
  if (tag !== undefined) ref.tag = tag
  if (digest !== undefined) ref.digest = digest
  if (tag === undefined && digest === undefined) ref.tag = DEFAULT_TAG
  return ref
}

export interface FormatImageRefOptions {
  /**
   * Print the short form people type: without `docker.io/`, and without `library/` for an official
   * image (`nginx:1.27`, `acme/api:2`, `ghcr.io/acme/api:2`). Default: the canonical form
   * `docker.io/library/nginx:1.27`.
   */
  familiar?: boolean
}

/** `registry/repository[:tag][@digest]`, or the familiar short form. */
export function formatImageRef(ref: ImageRef, options: FormatImageRefOptions = {}): string {
  const tag = ref.tag === undefined ? '' : `:${ref.tag}`
  const digest = ref.digest === undefined ? '' : `@${ref.digest}`
  return `${formatRepository(ref, options)}${tag}${digest}`
}

/** `registry/repository` (or its familiar form), without tag or digest. */
export function formatRepository(ref: Pick<ImageRef, 'registry' | 'repository'>, options: FormatImageRefOptions = {}): string {
  if (options.familiar === true && ref.registry === DOCKER_HUB_REGISTRY) {
    const official = `${OFFICIAL_NAMESPACE}/`
    const rest = ref.repository.slice(official.length)
    return ref.repository.startsWith(official) && !rest.includes('/') ? rest : ref.repository
  }
  return `${ref.registry}/${ref.repository}`
}

/** Whether a digest is one the container tooling accepts (`sha256:` + 64 lowercase hex, sha384, sha512). */
export function isValidDigest(text: string): boolean {
  return digestProblem(text) === undefined
}

/** The registry a reference names, and the rest (repository, tag, digest), normalised. */
function splitRegistry(text: string): {registry: string; remainder: string} {
  const slash = text.indexOf('/')
  let registry = DOCKER_HUB_REGISTRY
  let remainder = text
  if (slash >= 0) {
    const first = text.slice(0, slash)
    if (first === 'localhost' || /[.:]/.test(first) || first.toLowerCase() !== first) {
      registry = DOCKER_HUB_ALIASES.has(first) ? DOCKER_HUB_REGISTRY : first
      remainder = text.slice(slash + 1)
    }
  }
  if (registry === DOCKER_HUB_REGISTRY) {
    // Only the name decides whether this is an official image: `nginx@sha256:..` and `nginx:1` too.
    const at = remainder.indexOf('@')
    const name = at < 0 ? remainder : remainder.slice(0, at)
    if (!name.includes('/')) remainder = `${OFFICIAL_NAMESPACE}/${remainder}`
  }
  return {registry, remainder}
}

function isValidRegistry(registry: string): boolean {
  let host = registry
  let port: string | undefined
  if (registry.startsWith('[')) {
    const close = registry.indexOf(']')
    host = registry.slice(0, close + 1)
    const after = registry.slice(close + 1)
    if (close < 0 || (after !== '' && !after.startsWith(':'))) return false
    if (after !== '') port = after.slice(1)
    if (!IPV6_HOST.test(host)) return false
  } else {
    const colon = registry.indexOf(':')
    if (colon >= 0) {
      host = registry.slice(0, colon)
      port = registry.slice(colon + 1)
    }
    if (!host.split('.').every((label) => DOMAIN_LABEL.test(label))) return false
  }
  return port === undefined || PORT.test(port)
}

function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(':')
  const algorithm = colon < 0 ? digest : digest.slice(0, colon)
  const hex = colon < 0 ? '' : digest.slice(colon + 1)
  if (colon < 0 || !DIGEST_ALGORITHM.test(algorithm) || hex === '') return `digest "${digest}" must be algorithm:hex, such as sha256:<64 hex characters>`
  const length = Object.hasOwn(DIGEST_HEX_LENGTH, algorithm) ? DIGEST_HEX_LENGTH[algorithm] : undefined
  if (length === undefined) return `digest algorithm "${algorithm}" is not supported (sha256, sha384 or sha512)`
  if (!/^[a-f0-9]+$/.test(hex)) return `digest "${digest}" must be lowercase hexadecimal after "${algorithm}:"`
  if (hex.length !== length) return `${algorithm} digest must have ${length} hexadecimal characters, not ${hex.length}`
  return undefined
}
