// Loads kubeconfigs the way kubectl does (into our own model, src/kube/kubeconfig.ts). @kubernetes/client-node's loadFromDefault takes
// current-context from the last KUBECONFIG file and throws on duplicate names; kubectl merges the list
// with the first file winning for every name and for current-context, and ignores missing files.
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {ConfigError} from '../errors.ts'
import {Kubeconfig, readKubeconfigFile, type KubeCluster, type KubeContext, type KubeUser} from './kubeconfig.ts'

/** One kubeconfig as the user named it: a file, the merged KUBECONFIG list, or the pod's service account. */
export interface KubeconfigSource {
  /** A file path, `$KUBECONFIG` for a merged list, or `in-cluster`. */
  label: string
  config: Kubeconfig
}

export interface KubeconfigLoadOptions {
  /** Files given with --kubeconfig: each one is its own source. */
  paths: string[]
  env: NodeJS.ProcessEnv
  homeDir: string
  /** Where a pod's service account is mounted (overridable for tests). */
  serviceAccountDir?: string
}

const defaultServiceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount'

function loadFile(file: string): Kubeconfig {
  try {
    return readKubeconfigFile(file)
  } catch (error) {
    throw new ConfigError(`cannot read kubeconfig ${file}: ${error instanceof Error ? error.message : String(error)}`, {
      code: 'KUBECONFIG_INVALID',
      suggestions: [`check the file with: kubectl config view --kubeconfig ${file}`],
      cause: error,
    })
  }
}

/** Merges kubeconfigs like kubectl: the first occurrence of each name wins, and the first non-empty current-context. */
export function mergeKubeconfigs(configs: Kubeconfig[]): Kubeconfig {
  const clusters = new Map<string, KubeCluster>()
  const users = new Map<string, KubeUser>()
  const contexts = new Map<string, KubeContext>()
  let currentContext = ''
  for (const config of configs) {
    for (const cluster of config.getClusters()) if (!clusters.has(cluster.name)) clusters.set(cluster.name, cluster)
    for (const user of config.getUsers()) if (!users.has(user.name)) users.set(user.name, user)
    for (const context of config.getContexts()) if (!contexts.has(context.name)) contexts.set(context.name, context)
    if (!currentContext && config.getCurrentContext()) currentContext = config.getCurrentContext()
  }
  return new Kubeconfig({clusters: [...clusters.values()], users: [...users.values()], contexts: [...contexts.values()], currentContext})
}

/**
 * The pod's service account, as client-go's rest.InClusterConfig: the API server from
 * KUBERNETES_SERVICE_HOST/PORT, its CA and a token file that is re-read as the kubelet rotates it.
 */
function inClusterConfig(env: NodeJS.ProcessEnv, serviceAccountDir: string): Kubeconfig {
  const host = env.KUBERNETES_SERVICE_HOST ?? ''
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT || '443'}`
  const namespaceFile = path.join(serviceAccountDir, 'namespace')
  return new Kubeconfig({
    clusters: [{name: 'in-cluster', server, caFile: path.join(serviceAccountDir, 'ca.crt')}],
    // The token file is read on every request, so the kubelet's rotation is picked up.
    users: [{name: 'service-account', tokenFile: path.join(serviceAccountDir, 'token')}],
    contexts: [{name: 'in-cluster', cluster: 'in-cluster', user: 'service-account', ...(existsSync(namespaceFile) ? {namespace: readFileSync(namespaceFile, 'utf8').trim()} : {})}],
    currentContext: 'in-cluster',
  })
}

/** Resolves which kubeconfigs to use, in kubectl's order of precedence. */
export function loadKubeconfigs(options: KubeconfigLoadOptions): KubeconfigSource[] {
  if (options.paths.length > 0) {
    return [...new Set(options.paths)].map((file) => {
      if (!existsSync(file)) {
        throw new ConfigError(`kubeconfig ${file} does not exist`, {code: 'KUBECONFIG_MISSING', suggestions: ['pass the path of an existing kubeconfig file with --kubeconfig']})
      }
      return {label: file, config: loadFile(file)}
    })
  }

  const listed = (options.env.KUBECONFIG ?? '').split(path.delimiter).filter((file) => file !== '')
  if (listed.length > 0) {
    const present = [...new Set(listed)].filter((file) => existsSync(file))
    if (present.length === 0) {
      throw new ConfigError(`none of the files in KUBECONFIG exist: ${listed.join(path.delimiter)}`, {
        code: 'KUBECONFIG_MISSING',
        suggestions: ['point KUBECONFIG at your kubeconfig files, or pass --kubeconfig PATH'],
      })
    }
    return [{label: present.length === 1 ? present[0]! : '$KUBECONFIG', config: mergeKubeconfigs(present.map(loadFile))}]
  }

  const homeConfig = path.join(options.homeDir, '.kube', 'config')
  if (existsSync(homeConfig)) return [{label: homeConfig, config: loadFile(homeConfig)}]

  const serviceAccountDir = options.serviceAccountDir ?? defaultServiceAccountDir
  if (options.env.KUBERNETES_SERVICE_HOST && existsSync(path.join(serviceAccountDir, 'token'))) {
    return [{label: 'in-cluster', config: inClusterConfig(options.env, serviceAccountDir)}]
  }

  throw new ConfigError('no kubeconfig found: KUBECONFIG is not set, ~/.kube/config does not exist, and this is not a pod with a service account', {
    code: 'KUBECONFIG_MISSING',
    suggestions: ['pass --kubeconfig PATH, set KUBECONFIG, or run inside a pod with a service account'],
  })
}
