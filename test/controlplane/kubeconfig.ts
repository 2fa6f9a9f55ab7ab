// Writes kubeconfig files for local clusters, the way kind or a cloud CLI would: embedded CA and
// client certificate data, one context per (cluster, user).
import {writeFile} from 'node:fs/promises'
import {stringify} from 'yaml'
import type {LocalCluster} from './local-cluster.ts'

export interface KubeconfigContext {
  /** Context name; defaults to the cluster's name. */
  name?: string
  cluster: LocalCluster
  /** User credentials; defaults to the cluster's admin certificate. */
  user?: {name: string; certPem: string; keyPem: string} | {name: string; token: string} | {name: string; exec: {command: string; args?: string[]; env?: Array<{name: string; value: string}>}}
  namespace?: string
}

const b64 = (text: string) => Buffer.from(text).toString('base64')

export function kubeconfigDocument(contexts: KubeconfigContext[], currentContext?: string): object {
  const clusters = new Map<string, object>()
  const users = new Map<string, object>()
  const contextEntries = contexts.map((entry) => {
    const user = entry.user ?? {name: `${entry.cluster.name}-admin`, certPem: entry.cluster.admin.certPem, keyPem: entry.cluster.admin.keyPem}
    clusters.set(entry.cluster.name, {name: entry.cluster.name, cluster: {server: entry.cluster.server, 'certificate-authority-data': b64(entry.cluster.pki.caCertPem)}})
    users.set(user.name, {
      name: user.name,
      user:
        'token' in user
          ? {token: user.token}
          : 'exec' in user
            ? {exec: {apiVersion: 'client.authentication.k8s.io/v1', interactiveMode: 'Never', ...user.exec}}
            : {'client-certificate-data': b64(user.certPem), 'client-key-data': b64(user.keyPem)},
    })
    return {name: entry.name ?? entry.cluster.name, context: {cluster: entry.cluster.name, user: user.name, ...(entry.namespace ? {namespace: entry.namespace} : {})}}
  })
  return {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: contextEntries,
    'current-context': currentContext ?? contextEntries[0]?.name ?? '',
  }
}

export async function writeKubeconfig(file: string, contexts: KubeconfigContext[], currentContext?: string): Promise<string> {
  await writeFile(file, stringify(kubeconfigDocument(contexts, currentContext)), {mode: 0o600})
  return file
}
