/**
 * Validates requests and responses against the committed contract (`test/contracts/snyk-api-contract.json`,
 * distilled from Snyk's official documents) with openapi-backend (+ ajv-formats).
 *
 * The contract holds only the operations the emulator serves; the compiled validator is cached per contract
 * file, so every emulator in a test process shares it.
 *
 * One deliberate departure from the v1 document, which the contracts README sanctions: the import path
 * references only the Git-style request schema, so its body is instead checked against the container
 * variant of the integration's type (`checkImportBody`), and its media type is checked here.
 */
import ajvFormats from 'ajv-formats'
import {OpenAPIBackend, SetMatchType, ValidationContext} from 'openapi-backend'
import type {Operation, ValidationResult} from 'openapi-backend'
import {CONTRACT_FILE, documentedMediaTypes, loadCommittedContract, toValidatorDocument} from './contract-documents.ts'
import type {ApiName, JsonObject} from './contract-documents.ts'

export type {ApiName} from './contract-documents.ts'
export type ContractOperation = Operation

type AjvError = NonNullable<ValidationResult['errors']>[number]
type ValidateFunction = ((data: unknown) => boolean) & {errors?: AjvError[] | null}

export const API_ROOTS: Readonly<Record<ApiName, string>> = {v1: '/v1', rest: '/rest'}
const PRIMARY_MEDIA_TYPES: Readonly<Record<ApiName, string>> = {v1: 'application/json; charset=utf-8', rest: 'application/vnd.api+json'}
const IMPORT_PATH = '/org/{orgId}/integrations/{integrationId}/import'

export interface ContractRequest {
  readonly method: string
  /** Full path, including `/v1` or `/rest`. */
  readonly path: string
  /** Raw query string, without `?`. */
  readonly query: string
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly body?: unknown
}

export interface ContractResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** Parsed JSON body; `undefined` when empty or not JSON. */
  readonly body?: unknown
}

export class ContractValidator {
  readonly startupMs: number
  readonly #apis: Readonly<Record<ApiName, OpenAPIBackend>>
  /** operationId -> media types of a request body the reduced document no longer describes. */
  readonly #bodyMediaTypes: ReadonlyMap<string, string[]>
  readonly #importVariants = new Map<string, ValidateFunction>()

  private constructor(apis: Record<ApiName, OpenAPIBackend>, bodyMediaTypes: Map<string, string[]>, startupMs: number) {
    this.#apis = apis
    this.#bodyMediaTypes = bodyMediaTypes
    this.startupMs = startupMs
  }

  static async create(contractFile: string): Promise<ContractValidator> {
    const started = performance.now()
    const contract = loadCommittedContract(contractFile)
    const rest = toValidatorDocument(contract.rest, PRIMARY_MEDIA_TYPES.rest)
    const v1 = toValidatorDocument(contract.v1, PRIMARY_MEDIA_TYPES.v1)
    const importOperation = (v1['paths'] as Record<string, Record<string, JsonObject>>)[IMPORT_PATH]?.['post']
    if (!importOperation) throw new Error(`v1 document has no POST ${IMPORT_PATH}`)
    const bodyMediaTypes = new Map([[String(importOperation['operationId']), documentedMediaTypes(importOperation['requestBody'] as object)]])
    delete importOperation['requestBody']
    const [restApi, v1Api] = await Promise.all([initialise(rest, API_ROOTS.rest), initialise(v1, API_ROOTS.v1)])
    return new ContractValidator({rest: restApi, v1: v1Api}, bodyMediaTypes, performance.now() - started)
  }

  /** The documented operation for this method and path, if there is one. */
  match(api: ApiName, method: string, path: string): ContractOperation | undefined {
    return this.#apis[api].router.matchOperation({method, path, headers: {}})
  }

  /** Path parameters of a request to `operation`, e.g. `{orgId: '...'}`. */
  params(api: ApiName, operation: ContractOperation, path: string): Record<string, string> {
    return this.#apis[api].router.parseRequest({method: operation.method, path, headers: {}}, operation).params as Record<string, string>
  }

  /** REST only: the releases (`x-snyk-api-releases`) of an operation. */
  releases(operation: ContractOperation): string[] {
    const releases = (operation as {'x-snyk-api-releases'?: unknown})['x-snyk-api-releases']
    return Array.isArray(releases) ? releases.map(String) : []
  }

  /** Why the request is off-contract; empty when it conforms. */
  checkRequest(api: ApiName, operation: ContractOperation, request: ContractRequest): string[] {
    const headers: Record<string, string | string[]> = {}
    for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers[name] = value
    const result = this.#apis[api].validator.validateRequest(
      {method: request.method, path: request.path, query: request.query, headers, body: request.body},
      operation,
    )
    const messages = formatErrors(result.errors, 'request')
    const mediaTypes = operation.operationId ? this.#bodyMediaTypes.get(operation.operationId) : undefined
    if (mediaTypes) messages.push(...checkBodyMediaType(mediaTypes, headers['content-type'], request.body))
    return messages
  }

  /** Why a v1 import body does not match the request variant `schema` (e.g. `Importtargetsrequest8`). */
  checkImportBody(schema: string, body: unknown): string[] {
    let validate = this.#importVariants.get(schema)
    if (!validate) {
      const backend = this.#apis.v1
      const schemas = (backend.definition.components?.schemas ?? {}) as Record<string, object>
      const definition = schemas[schema]
      if (!definition) throw new Error(`v1 document has no schema ${schema}`)
      validate = backend.validator.getAjv(ValidationContext.RequestBody).compile(definition) as ValidateFunction
      this.#importVariants.set(schema, validate)
    }
    validate(body)
    return formatErrors(validate.errors, `request body (${schema})`)
  }

  /** Why our own response is off-contract; empty when it conforms or its status is not documented. */
  checkResponse(api: ApiName, operation: ContractOperation, response: ContractResponse): string[] {
    const documented = responseFor(operation, response.status)
    if (!documented) return []
    const backend = this.#apis[api]
    const messages: string[] = []
    const mediaTypes = documentedMediaTypes(documented)
    const contentType = response.headers['content-type']
    if (mediaTypes.length > 0 && !mediaTypes.some((type) => sameMediaType(type, contentType))) {
      messages.push(`response Content-Type "${contentType ?? ''}" is not one documented for ${response.status} (${mediaTypes.join(', ')})`)
    }
    if (response.body !== undefined) {
      messages.push(...formatErrors(backend.validator.validateResponse(response.body, operation, response.status).errors, 'response body'))
    }
    const headerCheck = backend.validator.validateResponseHeaders(response.headers, operation, {statusCode: response.status, setMatchType: SetMatchType.Any})
    messages.push(...formatErrors(headerCheck.errors, 'response'))
    return messages
  }
}

async function initialise(definition: JsonObject, apiRoot: string): Promise<OpenAPIBackend> {
  const backend = new OpenAPIBackend({
    definition: definition as unknown as ConstructorParameters<typeof OpenAPIBackend>[0]['definition'],
    apiRoot,
    strict: true,
    ajvOpts: {allErrors: true},
    customizeAjv: (ajv) => {
      ajvFormats.default(ajv)
      return ajv
    },
  })
  return backend.init()
}

function responseFor(operation: ContractOperation, status: number): object | undefined {
  const responses = (operation.responses ?? {}) as Record<string, object>
  return responses[String(status)] ?? responses[`${Math.floor(status / 100)}XX`] ?? responses['default']
}

function sameMediaType(documented: string, actual: string | undefined): boolean {
  return essence(documented) === essence(actual ?? '')
}

function essence(mediaType: string): string {
  return (mediaType.split(';')[0] ?? '').trim().toLowerCase()
}

function checkBodyMediaType(documented: string[], contentType: string | string[] | undefined, body: unknown): string[] {
  const header = Array.isArray(contentType) ? contentType[0] : contentType
  const messages: string[] = []
  if (!documented.some((type) => sameMediaType(type, header))) {
    messages.push(`request Content-Type "${header ?? ''}" is not the documented ${documented.map((type) => `"${type}"`).join(' or ')}`)
  } else if (header && /charset=/i.test(header) && !/charset="?utf-8"?/i.test(header)) {
    messages.push(`request Content-Type "${header}" must use charset utf-8`)
  }
  if (body === undefined) messages.push('request body is required (JSON)')
  return messages
}

function formatErrors(errors: AjvError[] | null | undefined, subject: string): string[] {
  return (errors ?? []).map((error) => {
    const where = error.instancePath ? ` ${error.instancePath.slice(1).replaceAll('/', '.')}` : ''
    const params = error.params as Record<string, unknown>
    let detail = ''
    if (params['additionalProperty'] !== undefined) detail = `: ${String(params['additionalProperty'])}`
    else if (Array.isArray(params['allowedValues'])) detail = `: ${params['allowedValues'].join(', ')}`
    return `${subject}${where} ${error.message ?? error.keyword}${detail}`
  })
}

const validators = new Map<string, Promise<ContractValidator>>()

/** The validator for this contract file (default: the committed one), compiled once per process. */
export function getContractValidator(contractFile: string = CONTRACT_FILE): Promise<ContractValidator> {
  let validator = validators.get(contractFile)
  if (!validator) {
    validator = ContractValidator.create(contractFile)
    validator.catch(() => validators.delete(contractFile))
    validators.set(contractFile, validator)
  }
  return validator
}
