// An import job of Snyk's v1 Import API: what `GET` on the `Location` of an import answers.

export type ImportJobStatus = 'pending' | 'complete' | 'failed' | 'aborted'

export const IMPORT_JOB_STATUSES: readonly ImportJobStatus[] = ['pending', 'complete', 'failed', 'aborted']

/** A Snyk project an import created (or found, when the target was imported before). */
export interface ImportedProject {
  readonly projectId: string
  /** Link to the project in the Snyk web app. */
  readonly projectUrl: string
  readonly targetFile: string
  readonly success: boolean
}

export interface ImportJobLog {
  /** The imported target name, e.g. `library/nginx:1.27`. */
  readonly name: string
  readonly status: string
  readonly created: string | undefined
  readonly projects: readonly ImportedProject[]
}

export interface ImportJob {
  readonly id: string
  /** `pending` until Snyk is done; then `complete`, `failed` or `aborted`. */
  readonly status: ImportJobStatus
  readonly created: string | undefined
  readonly logs: readonly ImportJobLog[]
  /** The projects of every log, successful ones only. */
  readonly projects: readonly ImportedProject[]
}

/** The answer to a submitted import: where to poll it. */
export interface ImportSubmission {
  /** The job's URL on our configured API base (rebuilt from `Location`, so the token never goes elsewhere). */
  readonly jobUrl: string
  readonly jobId: string
}

export function isImportJobStatus(value: unknown): value is ImportJobStatus {
  return typeof value === 'string' && (IMPORT_JOB_STATUSES as readonly string[]).includes(value)
}

/** Reads an import job body; a string naming what is wrong when it is not one. */
export function parseImportJob(body: unknown): ImportJob | string {
  if (!isObject(body)) return 'the import job is not a JSON object'
  const {id, status, created, logs} = body
  if (typeof id !== 'string' || id === '') return 'the import job has no id'
  if (!isImportJobStatus(status)) return `the import job has an unknown status ${JSON.stringify(status)}`
  const parsedLogs: ImportJobLog[] = []
  for (const log of Array.isArray(logs) ? logs : []) {
    if (!isObject(log)) continue
    const projects: ImportedProject[] = []
    for (const project of Array.isArray(log['projects']) ? log['projects'] : []) {
      if (!isObject(project) || typeof project['projectId'] !== 'string') continue
      projects.push({
        projectId: project['projectId'],
        projectUrl: typeof project['projectUrl'] === 'string' ? project['projectUrl'] : '',
        targetFile: typeof project['targetFile'] === 'string' ? project['targetFile'] : '',
        success: project['success'] !== false,
      })
    }
    parsedLogs.push({
      name: typeof log['name'] === 'string' ? log['name'] : '',
      status: typeof log['status'] === 'string' ? log['status'] : '',
      created: typeof log['created'] === 'string' ? log['created'] : undefined,
      projects,
    })
  }
  return {
    id,
    status,
    created: typeof created === 'string' ? created : undefined,
    logs: parsedLogs,
    projects: parsedLogs.flatMap((log) => log.projects.filter((project) => project.success)),
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
