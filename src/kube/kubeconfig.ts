// Our own kubeconfig model: the few fields the plugin reads (clusters, users, contexts, current-context).
//
// Why not @kubernetes/client-node's KubeConfig: importing it loads the whole generated API (about 90 MB of
// RSS and 450 ms at start-up, measured), which was most of `sync`'s and `watch`'s memory. Client
// certificates, tokens, token files and basic auth are applied here; users with an exec plugin or an
// auth-provider are handed to client-node's authenticators, loaded only for them (credentials.ts).
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {parse as parseYaml} from 'yaml'

export interface KubeCluster {
  name: string
  server: string
  caData?: string
  caFile?: string
  skipTLSVerify?: boolean
  tlsServerName?: string
}

export interface KubeUser {
  name: string
  certData?: string
  certFile?: string
  keyData?: string
  keyFile?: string
  token?: string
  tokenFile?: string
  username?: string
  password?: string
  /** An exec credential plugin (client.authentication.k8s.io), as written: handled by client-node. */
  exec?: Record<string, unknown>
  /** A legacy auth-provider (oidc, gcp, azure), as written: handled by client-node. */
  authProvider?: Record<string, unknown>
}

export interface KubeContext {
  name: string
  cluster: string
  user: string
  namespace?: string
}

export interface KubeconfigData {
  clusters: KubeCluster[]
  users: KubeUser[]
  contexts: KubeContext[]
  currentContext: string
}

export class Kubeconfig {
  readonly #data: KubeconfigData

  constructor(data: KubeconfigData) {
    this.#data = data
  }

  getClusters(): KubeCluster[] {
    return this.#data.clusters
  }

  getUsers(): KubeUser[] {
    return this.#data.users
  }

  getContexts(): KubeContext[] {
    return this.#data.contexts
  }

  getCurrentContext(): string {
    return this.#data.currentContext
  }

  getContextObject(name: string): KubeContext | undefined {
    return this.#data.contexts.find((context) => context.name === name)
  }

  getCluster(name: string): KubeCluster | undefined {
    return this.#data.clusters.find((cluster) => cluster.name === name)
  }

  getUser(name: string): KubeUser | undefined {
    return this.#data.users.find((user) => user.name === name)
  }

  getCurrentCluster(): KubeCluster | undefined {
    const context = this.getContextObject(this.#data.currentContext)
    return context ? this.getCluster(context.cluster) : undefined
  }

  getCurrentUser(): KubeUser | undefined {
    const context = this.getContextObject(this.#data.currentContext)
    return context ? this.getUser(context.user) : undefined
  }

  /** The same clusters, users and contexts with another current context. */
  withCurrentContext(name: string): Kubeconfig {
    return new Kubeconfig({...this.#data, currentContext: name})
  }
}

/** Thrown for a kubeconfig that cannot be used; the loader turns it into a ConfigError naming the file. */
export class InvalidKubeconfigError extends Error {}

type Raw = Record<string, unknown>

const isObject = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value)

function entries(document: Raw, key: string, inner: string): Array<{name: string; body: Raw}> {
  const list = document[key]
  if (list === undefined || list === null) return []
  if (!Array.isArray(list)) throw new InvalidKubeconfigError(`"${key}" must be a list`)
  return list.map((item: unknown, index) => {
    if (!isObject(item) || typeof item['name'] !== 'string' || item['name'] === '') throw new InvalidKubeconfigError(`${key}[${index}] has no name`)
    const body = item[inner]
    if (body !== undefined && body !== null && !isObject(body)) throw new InvalidKubeconfigError(`${key}[${index}] (${item['name']}): "${inner}" must be a mapping`)
    return {name: item['name'], body: (body as Raw | undefined) ?? {}}
  })
}

function text(body: Raw, key: string): string | undefined {
  const value = body[key]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** Parses a kubeconfig document; relative file paths are resolved against `baseDir`, as kubectl does. */
export function parseKubeconfig(source: string, baseDir: string): Kubeconfig {
  let document: unknown
  try {
    document = parseYaml(source)
  } catch (error) {
    throw new InvalidKubeconfigError(`not valid YAML: ${(error as Error).message}`)
  }
  if (document === null || document === undefined) document = {}
  if (!isObject(document)) throw new InvalidKubeconfigError('not a kubeconfig (expected a mapping)')
  const file = (body: Raw, key: string): string | undefined => {
    const value = text(body, key)
    return value === undefined ? undefined : path.resolve(baseDir, value)
  }
  const clusters = entries(document, 'clusters', 'cluster').map(({name, body}): KubeCluster => {
    const server = text(body, 'server')
    if (!server) throw new InvalidKubeconfigError(`cluster ${name} has no server`)
    const cluster: KubeCluster = {name, server}
    const caData = text(body, 'certificate-authority-data')
    const caFile = file(body, 'certificate-authority')
    const tlsServerName = text(body, 'tls-server-name')
    if (caData) cluster.caData = caData
    if (caFile) cluster.caFile = caFile
    if (body['insecure-skip-tls-verify'] === true) cluster.skipTLSVerify = true
    if (tlsServerName) cluster.tlsServerName = tlsServerName
    return cluster
  })
  const users = entries(document, 'users', 'user').map(({name, body}): KubeUser => {
    const user: KubeUser = {name}
    const fields: Array<[keyof KubeUser, string | undefined]> = [
      ['certData', text(body, 'client-certificate-data')],
      ['certFile', file(body, 'client-certificate')],
      ['keyData', text(body, 'client-key-data')],
      ['keyFile', file(body, 'client-key')],
      ['token', text(body, 'token')],
      ['tokenFile', file(body, 'tokenFile')],
      ['username', text(body, 'username')],
      ['password', text(body, 'password')],
    ]
    for (const [key, value] of fields) if (value !== undefined) (user as unknown as Record<string, string>)[key] = value
    if (isObject(body['exec'])) user.exec = body['exec']
    if (isObject(body['auth-provider'])) user.authProvider = body['auth-provider']
    return user
  })
  const contexts = entries(document, 'contexts', 'context').map(({name, body}): KubeContext => {
    const context: KubeContext = {name, cluster: text(body, 'cluster') ?? '', user: text(body, 'user') ?? ''}
    const namespace = text(body, 'namespace')
    if (namespace) context.namespace = namespace
    return context
  })
  const current = document['current-context']
  return new Kubeconfig({clusters, users, contexts, currentContext: typeof current === 'string' ? current : ''})
}

export function readKubeconfigFile(file: string): Kubeconfig {
  return parseKubeconfig(readFileSync(file, 'utf8'), path.dirname(path.resolve(file)))
}

/** The document client-node's KubeConfig.loadFromString reads, for one context (exec and auth-provider users). */
export function kubeconfigDocumentFor(cluster: KubeCluster, user: KubeUser, context: KubeContext): object {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster.name,
        cluster: {
          server: cluster.server,
          ...(cluster.caData ? {'certificate-authority-data': cluster.caData} : {}),
          ...(cluster.caFile ? {'certificate-authority': cluster.caFile} : {}),
          ...(cluster.skipTLSVerify ? {'insecure-skip-tls-verify': true} : {}),
          ...(cluster.tlsServerName ? {'tls-server-name': cluster.tlsServerName} : {}),
        },
      },
    ],
    users: [
      {
        name: user.name,
        user: {
          ...(user.exec ? {exec: user.exec} : {}),
          ...(user.authProvider ? {'auth-provider': user.authProvider} : {}),
        },
      },
    ],
    contexts: [{name: context.name, context: {cluster: context.cluster, user: context.user, ...(context.namespace ? {namespace: context.namespace} : {})}}],
    'current-context': context.name,
  }
}
