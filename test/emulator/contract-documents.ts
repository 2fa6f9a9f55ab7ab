/**
 * The contract the emulator and our client follow: the operations we use, distilled from Snyk's official
 * API documents into one committed file (`test/contracts/snyk-api-contract.json`), so that a clone of the
 * repository validates every request and response without the documents beside it.
 *
 * Distilling keeps structure only: the served operations (path-level parameters included), the components
 * they reference transitively, the extra v1 schemas no path references (the container import variants),
 * and no documentation (descriptions, summaries, titles, examples, tags). `npm run contracts:update`
 * writes the file from `../shared/contracts` (or `$SNYK_CONTRACTS_DIR`); a test distils the documents
 * afresh whenever they are present and names every operation whose distillation differs from the file.
 */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parse as parseYaml} from 'yaml'
import {IMPORT_VARIANT_SCHEMAS} from './target-name-rules.ts'

type Json = null | boolean | number | string | Json[] | {[key: string]: Json}
export type JsonObject = {[key: string]: Json}

export type ApiName = 'v1' | 'rest'

/** The operations kept from a document: path template -> methods. */
export type OperationSelection = Record<string, string[]>

/** The operations the emulator serves and the CLI uses: nothing else exists for them. */
export const SERVED_OPERATIONS: Readonly<Record<ApiName, OperationSelection>> = {
  v1: {
    '/org/{orgId}/integrations': ['get'],
    '/org/{orgId}/integrations/{type}': ['get'],
    '/org/{orgId}/integrations/{integrationId}/import': ['post'],
    '/org/{orgId}/integrations/{integrationId}/import/{jobId}': ['get'],
  },
  rest: {
    '/orgs/{org_id}/projects': ['get'],
    '/orgs/{org_id}/integrations': ['get'],
    '/orgs/{org_id}/projects/{project_id}/sbom': ['get'],
  },
}

/** Component schemas kept although no served path references them. */
const EXTRA_SCHEMAS: Readonly<Record<ApiName, readonly string[]>> = {v1: IMPORT_VARIANT_SCHEMAS, rest: []}

/** The official document of each API, in `../shared/contracts`. */
export const OFFICIAL_DOCUMENTS: Readonly<Record<ApiName, string>> = {v1: 'snyk-v1-import.yaml', rest: 'snyk-rest-openapi.json'}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The committed, distilled contract. */
export const CONTRACT_FILE = join(repoRoot, 'test', 'contracts', 'snyk-api-contract.json')

/** Where Snyk's official documents are: `$SNYK_CONTRACTS_DIR`, else `<repo>/../shared/contracts` (beside our checkouts only). */
export function officialContractsDir(): string {
  const fromEnv = process.env['SNYK_CONTRACTS_DIR']
  return fromEnv ? resolve(fromEnv) : join(repoRoot, '..', 'shared', 'contracts')
}

/** Whether both official documents are in `dir`. */
export function officialDocumentsPresent(dir = officialContractsDir()): boolean {
  return Object.values(OFFICIAL_DOCUMENTS).every((file) => existsSync(join(dir, file)))
}

export interface SnykContract {
  readonly v1: JsonObject
  readonly rest: JsonObject
}

export function loadOfficialDocuments(dir = officialContractsDir()): SnykContract {
  return {
    v1: parseYaml(readFileSync(join(dir, OFFICIAL_DOCUMENTS.v1), 'utf8')) as JsonObject,
    rest: JSON.parse(readFileSync(join(dir, OFFICIAL_DOCUMENTS.rest), 'utf8')) as JsonObject,
  }
}

export function loadCommittedContract(file = CONTRACT_FILE): SnykContract {
  const contract = JSON.parse(readFileSync(file, 'utf8')) as Partial<SnykContract>
  if (!isObject(contract.v1) || !isObject(contract.rest)) throw new Error(`${file}: not a distilled contract (expected "v1" and "rest" documents)`)
  return {v1: contract.v1, rest: contract.rest}
}

/** The distilled contract of the official documents. */
export function distilContract(official: SnykContract): SnykContract {
  return {
    v1: distilDocument(official.v1, SERVED_OPERATIONS.v1, EXTRA_SCHEMAS.v1),
    rest: distilDocument(official.rest, SERVED_OPERATIONS.rest, EXTRA_SCHEMAS.rest),
  }
}

/** The committed file's text for a contract (stable: same documents, same bytes). */
export function contractFileText(contract: SnykContract): string {
  const header = {
    $comment: 'Distilled from Snyk\'s official API documents by `npm run contracts:update` (test/emulator/contract-documents.ts). Structure only. Do not edit by hand.',
    sources: OFFICIAL_DOCUMENTS,
  }
  return `${JSON.stringify({...header, ...contract}, null, 1)}\n`
}

/** A copy of `doc` holding only the selected operations, the components they reference, `extraSchemas`, and no documentation. */
export function distilDocument(doc: JsonObject, selection: OperationSelection, extraSchemas: readonly string[] = []): JsonObject {
  const allPaths = asObject(doc['paths'], 'paths')
  const paths: JsonObject = {}
  for (const [path, methods] of Object.entries(selection)) {
    const item = asObject(allPaths[path], `paths.${path}`)
    const kept: JsonObject = {}
    for (const method of methods) kept[method] = asObject(item[method], `${path} ${method}`)
    if (item['parameters']) kept['parameters'] = item['parameters']
    paths[path] = kept
  }
  const refs = [...collectRefs(paths), ...extraSchemas.map((name) => `#/components/schemas/${name}`)]
  const info = asObject(doc['info'] ?? {}, 'info')
  const stripped = stripDocumentation({paths, components: closure(doc, refs)}) as JsonObject
  // `info.title` is required by OpenAPI: the one piece of documentation kept.
  return {openapi: doc['openapi'] ?? '3.0.3', info: {title: info['title'] ?? 'Snyk API', version: info['version'] ?? '0'}, ...stripped}
}

/** The components `refs` name, and those they reference in turn, grouped by kind as in a document. */
function closure(doc: JsonObject, refs: readonly string[]): JsonObject {
  const components = asObject(doc['components'] ?? {}, 'components')
  const kept: Record<string, JsonObject> = {}
  const pending = [...refs]
  const seen = new Set<string>()
  while (pending.length > 0) {
    const ref = pending.pop() as string
    if (seen.has(ref)) continue
    seen.add(ref)
    const [, , kind, name] = ref.split('/')
    if (!kind || !name) throw new Error(`unsupported $ref ${ref}`)
    const target = asObject(asObject(components[kind], `components.${kind}`)[name], ref)
    kept[kind] ??= {}
    kept[kind][name] = target
    pending.push(...collectRefs(target))
  }
  // Sorted, so that the file does not depend on the order references were met.
  const sorted: JsonObject = {}
  for (const kind of Object.keys(kept).sort()) {
    const byName: JsonObject = {}
    for (const name of Object.keys(kept[kind]!).sort()) byName[name] = kept[kind]![name]!
    sorted[kind] = byName
  }
  return sorted
}

/** Keywords that document and never constrain. */
const DOCUMENTATION_KEYWORDS = new Set(['description', 'summary', 'title', 'example', 'examples', 'tags', 'externalDocs', 'contact', 'x-examples'])
/** Maps whose keys are names (properties, status codes, media types, ...), not keywords: never stripped themselves. */
const NAME_MAPS = new Set(['properties', 'patternProperties', 'paths', 'responses', 'content', 'headers', 'schemas', 'parameters', 'requestBodies', 'securitySchemes', 'links', 'callbacks', 'encoding', 'variables', 'mapping', 'components', 'definitions'])

function stripDocumentation(value: Json, isNameMap = false): Json {
  if (Array.isArray(value)) return value.map((item) => stripDocumentation(item))
  if (!isObject(value)) return value
  const kept: JsonObject = {}
  for (const [key, item] of Object.entries(value)) {
    if (!isNameMap && DOCUMENTATION_KEYWORDS.has(key)) continue
    // `mapping` holds strings, `required`/`enum` arrays of strings: nothing to strip inside.
    kept[key] = stripDocumentation(item, !isNameMap && NAME_MAPS.has(key) && isObject(item))
  }
  return kept
}

/**
 * What differs between two contracts, one line per operation (or extra schema) whose distillation is not the
 * same: the operation itself, its path's parameters, or any component it references, however deep.
 */
export function contractDifferences(committed: SnykContract, fresh: SnykContract): string[] {
  const lines: string[] = []
  for (const api of ['v1', 'rest'] as const) {
    const before = operationViews(committed[api], EXTRA_SCHEMAS[api])
    const after = operationViews(fresh[api], EXTRA_SCHEMAS[api])
    for (const name of new Set([...before.keys(), ...after.keys()])) {
      const a = before.get(name)
      const b = after.get(name)
      if (a === undefined) lines.push(`${api} ${name}: added`)
      else if (b === undefined) lines.push(`${api} ${name}: removed`)
      else if (a !== b) lines.push(`${api} ${name}: changed${firstDifference(a, b)}`)
    }
    const header = (doc: JsonObject) => JSON.stringify([doc['openapi'], doc['info']])
    if (header(committed[api]) !== header(fresh[api])) lines.push(`${api} document header (openapi version, info): changed`)
  }
  return lines
}

/** Each operation (`GET /path`) and extra schema of a document, as canonical JSON of everything it depends on. */
function operationViews(doc: JsonObject, extraSchemas: readonly string[]): Map<string, string> {
  const views = new Map<string, string>()
  for (const [path, item] of Object.entries(asObject(doc['paths'] ?? {}, 'paths'))) {
    const pathItem = asObject(item, `paths.${path}`)
    for (const [method, operation] of Object.entries(pathItem)) {
      if (method === 'parameters') continue
      const own = {operation, pathParameters: pathItem['parameters'] ?? null}
      views.set(`${method.toUpperCase()} ${path}`, canonical({...own, components: closure(doc, collectRefs(own as Json))}))
    }
  }
  for (const name of extraSchemas) {
    views.set(`schema ${name}`, canonical(closure(doc, [`#/components/schemas/${name}`])))
  }
  return views
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    isObject(item as Json) ? Object.fromEntries(Object.entries(item as JsonObject).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : item,
  )
}

/** ` (near …)`: a short excerpt of where two canonical texts first differ, so the line says what moved. */
function firstDifference(a: string, b: string): string {
  let at = 0
  while (at < a.length && a[at] === b[at]) at++
  const from = Math.max(0, at - 40)
  return ` (first difference near …${a.slice(from, at + 40)}… vs …${b.slice(from, at + 40)}…)`
}

/**
 * A distilled document as openapi-backend validates it:
 * - OpenAPI requires a `description` on every response object, which distilling dropped: it gets an empty one;
 * - openapi-backend validates request and response bodies only under the media type key `application/json`;
 *   Snyk documents v1 bodies as `application/json; charset=utf-8` and REST bodies as `application/vnd.api+json`,
 *   so each content map that lacks `application/json` gets it as an alias of `primaryMediaType`, marked with
 *   JSON_ALIAS_MARK.
 */
export function toValidatorDocument(doc: JsonObject, primaryMediaType: string): JsonObject {
  const paths: JsonObject = {}
  for (const [path, item] of Object.entries(asObject(doc['paths'], 'paths'))) {
    const kept: JsonObject = {}
    for (const [method, operation] of Object.entries(asObject(item, `paths.${path}`))) {
      kept[method] = method === 'parameters' ? operation : aliasOperation(asObject(operation, `${path} ${method}`), primaryMediaType)
    }
    paths[path] = kept
  }
  const components: JsonObject = {...asObject(doc['components'] ?? {}, 'components')}
  for (const [kind, prepare] of [['responses', responseObject], ['requestBodies', aliasContent]] as const) {
    if (!isObject(components[kind])) continue
    components[kind] = Object.fromEntries(Object.entries(components[kind]).map(([name, holder]) => [name, prepare(asObject(holder, name), primaryMediaType)]))
  }
  return {...doc, paths, components}
}

function aliasOperation(operation: JsonObject, primaryMediaType: string): JsonObject {
  const copy: JsonObject = {...operation}
  if (isObject(copy['requestBody'])) copy['requestBody'] = aliasContent(copy['requestBody'], primaryMediaType)
  if (isObject(copy['responses'])) {
    const responses: JsonObject = {}
    for (const [status, response] of Object.entries(copy['responses'])) {
      responses[status] = isObject(response) ? responseObject(response, primaryMediaType) : response
    }
    copy['responses'] = responses
  }
  return copy
}

function responseObject(response: JsonObject, primaryMediaType: string): JsonObject {
  if (typeof response['$ref'] === 'string') return response
  return aliasContent({description: '', ...response}, primaryMediaType)
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
