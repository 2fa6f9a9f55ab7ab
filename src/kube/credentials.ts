// The TLS material and headers of a target's requests, from our kubeconfig model (src/kube/kubeconfig.ts).
// Client certificates, bearer tokens, token files (re-read on every call, so a rotated service-account
// token is picked up) and basic auth are applied here. Users with an exec credential plugin or a legacy
// auth-provider go through @kubernetes/client-node's authenticators, imported only then: the import costs
// about 90 MB and 450 ms, which nobody else should pay.
import {readFileSync} from 'node:fs'
import type {KubeConfig} from '@kubernetes/client-node'
import {kubeconfigDocumentFor, type Kubeconfig, type KubeUser} from './kubeconfig.ts'

export interface HttpsOptions {
  ca?: string
  cert?: string
  key?: string
  rejectUnauthorized?: boolean
  servername?: string
  /** Lower-case header names. */
  headers: Record<string, string>
}

const fromData = (data: string): string => Buffer.from(data, 'base64').toString('utf8')

/** client-node configs for exec and auth-provider users, one per user entry (its authenticators cache credentials). */
const delegated = new WeakMap<KubeUser, Promise<KubeConfig>>()

async function delegatedConfig(config: Kubeconfig, user: KubeUser): Promise<KubeConfig> {
  let loaded = delegated.get(user)
  if (!loaded) {
    loaded = (async () => {
      const {KubeConfig} = await import('./client-node-config.ts')
      const kubeConfig = new KubeConfig()
      const context = config.getContextObject(config.getCurrentContext())!
      kubeConfig.loadFromString(JSON.stringify(kubeconfigDocumentFor(config.getCurrentCluster()!, user, context)))
      return kubeConfig
    })()
    delegated.set(user, loaded)
  }
  return loaded
}

export async function httpsOptionsOf(config: Kubeconfig): Promise<HttpsOptions> {
  const cluster = config.getCurrentCluster()
  const user = config.getCurrentUser()
  const options: HttpsOptions = {headers: {}}
  if (cluster?.caData) options.ca = fromData(cluster.caData)
  else if (cluster?.caFile) options.ca = readFileSync(cluster.caFile, 'utf8')
  if (cluster?.skipTLSVerify) options.rejectUnauthorized = false
  if (cluster?.tlsServerName) options.servername = cluster.tlsServerName
  if (!user) return options
  if (user.certData) options.cert = fromData(user.certData)
  else if (user.certFile) options.cert = readFileSync(user.certFile, 'utf8')
  if (user.keyData) options.key = fromData(user.keyData)
  else if (user.keyFile) options.key = readFileSync(user.keyFile, 'utf8')
  if (user.exec || user.authProvider) {
    const delegatedOptions: {cert?: unknown; key?: unknown; headers?: Record<string, unknown>} = {}
    await (await delegatedConfig(config, user)).applyToHTTPSOptions(delegatedOptions as never)
    if (delegatedOptions.cert) options.cert = String(delegatedOptions.cert)
    if (delegatedOptions.key) options.key = String(delegatedOptions.key)
    for (const [name, value] of Object.entries(delegatedOptions.headers ?? {})) options.headers[name.toLowerCase()] = String(value)
  } else if (user.token) {
    options.headers.authorization = `Bearer ${user.token}`
  } else if (user.tokenFile) {
    options.headers.authorization = `Bearer ${readFileSync(user.tokenFile, 'utf8').trim()}`
  } else if (user.username && user.password) {
    options.headers.authorization = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`
  }
  return options
}
