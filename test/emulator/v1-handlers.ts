/** The v1 operations: list and get integrations, import a target, read an import job. */
import {v1Error, v1Json} from './api-responses.ts'
import type {EmulatorResponse} from './api-responses.ts'
import type {OperationContext, OperationHandler} from './operation-handler.ts'
import type {ImportJob, Org} from './snyk-world.ts'
import {checkTargetName, importVariantFor} from './target-name-rules.ts'

function listIntegrations({world, org}: OperationContext): EmulatorResponse {
  return v1Json(200, Object.fromEntries(world.integrationsOf(org.id).map((integration) => [integration.type, integration.id])))
}

function integrationByType({world, org, params}: OperationContext): EmulatorResponse {
  const integration = world.integrationOfType(org.id, params['type'] ?? '')
  return integration ? v1Json(200, {id: integration.id}) : v1Error(404, `org ${org.slug} has no ${params['type']} integration`)
}

function importTarget(context: OperationContext): EmulatorResponse {
  const {world, org, params, body, validator, origin} = context
  const integration = world.integration(org.id, params['integrationId'] ?? '')
  if (!integration) return v1Error(404, `integration ${params['integrationId']} not found in org ${org.slug}`)
  const variant = importVariantFor(integration.type)
  const problems = validator.checkImportBody(variant.schema, body)
  const name = targetNameOf(body)
  if (name === undefined) problems.push(`request body target.name is required (${variant.schema}: "${variant.format}")`)
  else problems.push(...checkTargetName(integration.type, name))
  if (problems.length > 0 || name === undefined) return context.reject(problems)
  const job = world.submitImport(integration, name)
  return {status: 201, headers: {location: `${origin}/v1/org/${org.id}/integrations/${integration.id}/import/${job.id}`}}
}

function importJob({world, org, params}: OperationContext): EmulatorResponse {
  const integration = world.integration(org.id, params['integrationId'] ?? '')
  if (!integration) return v1Error(404, `integration ${params['integrationId']} not found in org ${org.slug}`)
  const job = world.job(integration, params['jobId'] ?? '')
  if (!job) return v1Error(404, `import job ${params['jobId']} not found`)
  return v1Json(200, importJobBody(world.poll(job), org))
}

function importJobBody(job: ImportJob, org: Org): object {
  const projects = job.project
    ? [{targetFile: '', success: true, projectUrl: `https://app.snyk.io/org/${org.slug}/project/${job.project.id}`, projectId: job.project.id}]
    : []
  return {id: job.id, status: job.status, created: job.created, logs: [{name: job.targetName, created: job.created, status: job.status, projects}]}
}

function targetNameOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('target' in body)) return undefined
  const target = body.target
  if (typeof target !== 'object' || target === null || !('name' in target)) return undefined
  return typeof target.name === 'string' ? target.name : undefined
}

export const V1_HANDLERS: Readonly<Record<string, OperationHandler>> = {
  List: listIntegrations,
  Getexistingintegrationbytype: integrationByType,
  Importtargets: importTarget,
  Getimportjobdetails: importJob,
}
