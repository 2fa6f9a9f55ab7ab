/** The REST operations: list projects, list integrations, get a project's SBOM. */
import {JSON_API, restError, restJson} from './api-responses.ts'
import type {EmulatorResponse} from './api-responses.ts'
import {listParam} from './operation-handler.ts'
import type {OperationContext, OperationHandler} from './operation-handler.ts'
import {pageLinks, paginate} from './pagination.ts'
import {isSbomFormat, sbomDocument, sbomMediaType} from './sbom-document.ts'
import type {Integration, Project, SnykWorld} from './snyk-world.ts'

/** One page of `items` as a JSON:API collection document, or the 400 for a cursor we never issued. */
function collection<T>(context: OperationContext, items: readonly T[], ordinalOf: (item: T) => number, render: (item: T) => object): EmulatorResponse {
  const {query} = context
  const page = paginate(items, ordinalOf, {
    limit: Number(query.get('limit') ?? 10),
    startingAfter: query.get('starting_after') ?? undefined,
    endingBefore: query.get('ending_before') ?? undefined,
  })
  if ('badCursor' in page) {
    return context.reject([{detail: `${page.badCursor} is not a cursor this API returned`, source: {parameter: page.badCursor}}])
  }
  const links = pageLinks({path: context.restPath, query, style: context.linkStyle, origin: context.origin}, page, ordinalOf)
  return restJson(200, {jsonapi: JSON_API, data: page.items.map(render), links})
}

function filterProjects(projects: Project[], query: URLSearchParams): Project[] {
  const keep = (values: string[], pick: (project: Project) => string, match = (a: string, b: string) => a === b) =>
    (project: Project) => values.length === 0 || values.some((value) => match(pick(project), value))
  return projects
    .filter(keep(listParam(query, 'ids'), (project) => project.id))
    .filter(keep(listParam(query, 'names'), (project) => project.name))
    .filter(keep(listParam(query, 'names_start_with'), (project) => project.name, (name, prefix) => name.startsWith(prefix)))
    .filter(keep(listParam(query, 'types'), (project) => project.type))
    .filter(keep(listParam(query, 'origins'), (project) => project.integration.type))
    .filter(keep(query.getAll('target_id'), (project) => project.targetId))
    .filter(keep(query.getAll('target_reference'), (project) => project.tag))
    .filter(keep(query.getAll('target_file'), () => ''))
}

function projectResource(world: SnykWorld, project: Project, options: {issueCounts: boolean; expandTarget: boolean}): object {
  const target = options.expandTarget
    ? {data: {type: 'target', id: project.targetId, attributes: {display_name: project.repository, url: null}}, links: {}}
    : {data: {type: 'target', id: project.targetId}, links: {related: `/orgs/${project.orgId}/targets/${project.targetId}`}}
  const resource: Record<string, unknown> = {
    type: 'project',
    id: project.id,
    attributes: {
      name: project.name,
      type: project.type,
      target_file: '',
      target_reference: project.tag,
      origin: project.integration.type,
      created: project.created,
      status: 'active',
      read_only: false,
      settings: {recurring_tests: {frequency: 'daily'}, pull_requests: {}},
    },
    relationships: {
      organization: {data: {type: 'org', id: project.orgId}, links: {related: `/orgs/${project.orgId}`}},
      target,
    },
  }
  if (options.issueCounts) {
    const {counts, updatedAt} = world.issueCounts(project)
    resource['meta'] = {latest_issue_counts: {...counts, updated_at: updatedAt}}
  }
  return resource
}

function listOrgProjects(context: OperationContext): EmulatorResponse {
  const {world, org, query} = context
  const projects = filterProjects(world.projectsOf(org.id), query)
  if (query.get('meta_count') === 'only') return restJson(200, {jsonapi: JSON_API, links: {}, meta: {count: projects.length}})
  const options = {issueCounts: query.get('meta.latest_issue_counts') === 'true', expandTarget: listParam(query, 'expand').includes('target')}
  return collection(context, projects, (project) => project.ordinal, (project) => projectResource(world, project, options))
}

function integrationResource(integration: Integration): object {
  return {
    type: 'integration',
    id: integration.id,
    attributes: {integration_type: integration.type, profile_name: null, created_at: integration.createdAt, has_broker: false},
    relationships: {org: {data: {type: 'org', id: integration.orgId}}},
  }
}

function listOrgIntegrations(context: OperationContext): EmulatorResponse {
  const integrations = context.world.integrationsOf(context.org.id)
  return collection(context, integrations, (integration) => integrations.indexOf(integration) + 1, integrationResource)
}

function getSbom(context: OperationContext): EmulatorResponse {
  const {world, org, params, query} = context
  const project = world.project(org.id, params['project_id'] ?? '')
  if (!project) return restError(404, [`project ${params['project_id']} not found in org ${org.slug}`])
  const format = query.get('format')
  if (format === null) return restJson(200, {jsonapi: JSON_API, data: {id: project.id, type: 'sbom'}})
  if (!isSbomFormat(format)) return restError(400, [`format ${format} is not supported`])
  const body = sbomDocument(project, format, {seed: world.seed, withLicenses: !listParam(query, 'exclude').includes('licenses')})
  return {status: 200, headers: {'content-type': sbomMediaType(format)}, body}
}

export const REST_HANDLERS: Readonly<Record<string, OperationHandler>> = {
  listOrgProjects,
  listIntegrations: listOrgIntegrations,
  getSbom,
}
