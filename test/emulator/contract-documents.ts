/**
 * Snyk's official API documents, loaded at run time from `../shared/contracts` (never copied into the
 * repository), and reduced to the operations the emulator serves so that compiling validators is fast.
 */
import {readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parse as parseYaml} from 'yaml'

type Json = null | boolean | number | string | Json[] | {[key: string]: Json}
export type JsonObject = {[key: string]: Json}

/** Where the documents live: `$SNYK_CONTRACTS_DIR`, else `<repo>/../shared/contracts`. */
export function contractsDir(): string {
  const fromEnv = process.env['SNYK_CONTRACTS_DIR']
  if (fromEnv) return resolve(fromEnv)
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
  return join(repoRoot, '..', 'shared', 'contracts')
}

export const REST_DOCUMENT = 'snyk-rest-openapi.json'
export const V1_DOCUMENT = 'snyk-v1-import.yaml'

export function loadRestDocument(dir = contractsDir()): JsonObject {
  return JSON.parse(readFileSync(join(dir, REST_DOCUMENT), 'utf8')) as JsonObject
}

export function loadV1Document(dir = contractsDir()): JsonObject {
  return parseYaml(readFileSync(join(dir, V1_DOCUMENT), 'utf8')) as JsonObject
}

/** The operations kept from a document: path template -> methods. */
export type OperationSelection = Record<string, string[]>

/**
 * A copy of `doc` holding only the selected operations, the components they reference (transitively) and,
 * where named, extra component schemas (the v1 container import variants no path references).
 *
 * openapi-backend validates request and response bodies only under the media type key `application/json`.
 * Snyk documents v1 bodies as `application/json; charset=utf-8` and REST bodies as `application/vnd.api+json`,
 * so each content map that lacks `application/json` gets it as an alias of `primaryMediaType`.
 */
export function reduceDocument(
  doc: JsonObject,
  selection: OperationSelection,
  primaryMediaType: string,
  extraSchemas: string[] = [],
): JsonObject {
  const paths: JsonObject = {}
  for (const [path, methods] of Object.entries(selection)) {
    const item = asObject(asObject(doc['paths'], 'paths')[path], `paths.${path}`)
    const kept: JsonObject = {}
    for (const method of methods) kept[method] = aliasMediaTypes(asObject(item[method], `${path} ${method}`), primaryMediaType)
    if (item['parameters']) kept['parameters'] = item['parameters']
    paths[path] = kept
  }

  const components = asObject(doc['components'] ?? {}, 'components')
  const keptComponents: Record<string, JsonObject> = {}
  const pending: string[] = [...collectRefs(paths), ...extraSchemas.map((name) => `#/components/schemas/${name}`)]
  const seen = new Set<string>()
  while (pending.length > 0) {
    const ref = pending.pop() as string
    if (seen.has(ref)) continue
    seen.add(ref)
    const [, , kind, name] = ref.split('/')
    if (!kind || !name) throw new Error(`unsupported $ref ${ref}`)
    const target = asObject(asObject(components[kind], `components.${kind}`)[name], ref)
    const copy = kind === 'responses' || kind === 'requestBodies' ? aliasContent(target, primaryMediaType) : target
    keptComponents[kind] ??= {}
    keptComponents[kind][name] = copy
    pending.push(...collectRefs(copy))
  }

  const reduced: JsonObject = {openapi: doc['openapi'] ?? '3.0.3', info: doc['info'] ?? {title: 'reduced', version: '0'}, paths}
  if (doc['servers']) reduced['servers'] = doc['servers']
  reduced['components'] = keptComponents
  return reduced
}

function aliasMediaTypes(operation: JsonObject, primaryMediaType: string): JsonObject {
  const copy: JsonObject = {...operation}
  if (isObject(copy['requestBody'])) copy['requestBody'] = aliasContent(copy['requestBody'], primaryMediaType)
  if (isObject(copy['responses'])) {
    const responses: JsonObject = {}
    for (const [status, response] of Object.entries(copy['responses'])) {
      responses[status] = isObject(response) ? aliasContent(response, primaryMediaType) : response
    }
    copy['responses'] = responses
  }
  return copy
}

/** Marks a request body or response whose `application/json` entry is our alias, not Snyk's. */
export const JSON_ALIAS_MARK = 'x-emulator-json-alias'

function aliasContent(holder: JsonObject, primaryMediaType: string): JsonObject {
  const content = holder['content']
  if (!isObject(content) || content['application/json'] || !content[primaryMediaType]) return holder
  return {...holder, [JSON_ALIAS_MARK]: true, content: {...content, 'application/json': content[primaryMediaType]}}
}

/** The media types Snyk documents for a request body or response (without our alias). */
export function documentedMediaTypes(holder: object | undefined): string[] {
  if (!holder || !('content' in holder) || typeof holder.content !== 'object' || holder.content === null) return []
  const types = Object.keys(holder.content)
  return JSON_ALIAS_MARK in holder ? types.filter((type) => type !== 'application/json') : types
}

function collectRefs(value: Json | undefined, found: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) collectRefs(item, found)
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') found.push(item)
      else collectRefs(item, found)
    }
  }
  return found
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function asObject(value: Json | undefined, where: string): JsonObject {
  if (!isObject(value)) throw new Error(`contract document: ${where} is missing or not an object`)
  return value
}
