/**
 * The committed contract (test/contracts/snyk-api-contract.json) against Snyk's official documents: equal to a
 * fresh distillation whenever the documents are present, and a comparison that names what changed.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {
  CONTRACT_FILE,
  contractDifferences,
  contractFileText,
  distilContract,
  distilDocument,
  loadCommittedContract,
  loadOfficialDocuments,
  officialContractsDir,
  officialDocumentsPresent,
  SERVED_OPERATIONS,
} from '../emulator/contract-documents.ts'
import type {JsonObject, SnykContract} from '../emulator/contract-documents.ts'

const clone = (contract: SnykContract): SnykContract => structuredClone(contract) as SnykContract
type Mutable = Record<string, Record<string, Record<string, Record<string, unknown>>>>

describe("the committed Snyk contract and Snyk's official documents", () => {
  it('is what the official documents distil to today (skipped where the documents are absent)', (t) => {
    const dir = officialContractsDir()
    if (!officialDocumentsPresent(dir)) {
      t.skip(`skipped the comparison with Snyk's official documents: they are not in ${dir} (set SNYK_CONTRACTS_DIR); requests and responses are still validated against ${CONTRACT_FILE}`)
      return
    }
    const fresh = distilContract(loadOfficialDocuments(dir))
    const differences = contractDifferences(loadCommittedContract(), fresh)
    assert.deepEqual(differences, [], `the committed contract differs from the official documents in ${dir}; run \`npm run contracts:update\` and review:\n${differences.join('\n')}`)
    assert.equal(readFileSync(CONTRACT_FILE, 'utf8'), contractFileText(fresh), 'same operations, but the file is not what `npm run contracts:update` writes')
  })

  it('holds every served operation and no documentation', () => {
    const contract = loadCommittedContract()
    for (const api of ['v1', 'rest'] as const) {
      const paths = contract[api]['paths'] as Record<string, Record<string, unknown>>
      for (const [path, methods] of Object.entries(SERVED_OPERATIONS[api])) {
        for (const method of methods) assert.ok(paths[path]?.[method], `${api} ${method.toUpperCase()} ${path} is in the contract`)
      }
    }
    const text = readFileSync(CONTRACT_FILE, 'utf8')
    for (const keyword of ['description', 'summary', 'example', 'examples']) assert.doesNotMatch(text, new RegExp(`"${keyword}":`), `no "${keyword}" in the contract`)
  })

  it('names each operation whose distillation changed, however deep the change', () => {
    const committed = loadCommittedContract()
    assert.deepEqual(contractDifferences(committed, clone(committed)), [])

    // A component only the projects list references, three references deep.
    const deep = clone(committed)
    const schemas = (deep.rest as unknown as Mutable)['components']!['schemas']!
    const counts = schemas['LatestIssueCounts'] ?? assert.fail('LatestIssueCounts is in the contract')
    ;(counts['properties'] as Record<string, unknown>)['critical'] = {type: 'string'}
    const deepChanges = contractDifferences(committed, deep)
    assert.equal(deepChanges.length, 1, deepChanges.join('\n'))
    assert.match(deepChanges[0] ?? '', /^rest GET \/orgs\/\{org_id\}\/projects: changed/)

    // A parameter of one v1 operation, a container import variant, an operation gone.
    const v1 = clone(committed)
    const paths = (v1.v1 as unknown as Mutable)['paths']!
    const jobPath = paths['/org/{orgId}/integrations/{integrationId}/import/{jobId}']!
    ;(jobPath['get'] as {parameters: unknown[]}).parameters.push({name: 'extra', in: 'query', required: true, schema: {type: 'string'}})
    delete paths['/org/{orgId}/integrations/{type}']
    ;((v1.v1 as unknown as Mutable)['components']!['schemas']!['Importtargetsrequest8'] as JsonObject)['required'] = ['nothing']
    assert.deepEqual(
      contractDifferences(committed, v1).map((line) => line.replace(/ \(first difference.*$/, '')),
      [
        'v1 GET /org/{orgId}/integrations/{type}: removed',
        'v1 GET /org/{orgId}/integrations/{integrationId}/import/{jobId}: changed',
        'v1 schema Importtargetsrequest8: changed',
      ].sort((a, b) => order(a) - order(b)),
    )
  })

  it('keeps structure, drops documentation, and leaves alone a property that happens to be called "description"', () => {
    const doc: JsonObject = {
      openapi: '3.0.3',
      info: {title: 'T', version: '1', description: 'about'},
      paths: {
        '/things': {
          get: {
            summary: 'list things',
            description: 'long text',
            tags: ['Things'],
            parameters: [{name: 'limit', in: 'query', description: 'how many', example: 10, schema: {type: 'integer', minimum: 10}}],
            responses: {'200': {description: 'ok', content: {'application/json': {example: {}, schema: {$ref: '#/components/schemas/Thing'}}}}},
          },
        },
        '/unused': {get: {responses: {'200': {description: 'no'}}}},
      },
      components: {
        schemas: {
          Thing: {type: 'object', title: 'A thing', required: ['description'], properties: {description: {type: 'string', description: 'its text', example: 'x'}}},
          Unused: {type: 'string'},
        },
      },
    }
    assert.deepEqual(distilDocument(doc, {'/things': ['get']}), {
      openapi: '3.0.3',
      info: {title: 'T', version: '1'},
      paths: {
        '/things': {
          get: {
            parameters: [{name: 'limit', in: 'query', schema: {type: 'integer', minimum: 10}}],
            responses: {'200': {content: {'application/json': {schema: {$ref: '#/components/schemas/Thing'}}}}},
          },
        },
      },
      components: {schemas: {Thing: {type: 'object', required: ['description'], properties: {description: {type: 'string'}}}}},
    })
  })
})

/** The order contractDifferences reports in: the document's operations, then the extra schemas. */
function order(line: string): number {
  return line.includes(' schema ') ? 1 : 0
}
