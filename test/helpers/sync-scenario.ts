// A realistic workload for sync tests: several registries, duplicates across clusters, init and
// ephemeral containers, every runtime's imageID form, a registry without a Snyk integration and a
// digest-only reference.
import type {ClusterSet} from './clusters.ts'
import {digestOf} from './kube-objects.ts'

export const ecrHost = '123456789012.dkr.ecr.eu-west-1.amazonaws.com'

/** Snyk targets the workload must produce, each imported exactly once (integration type -> name). */
export const expectedTargets: Record<string, string> = {
  'library/nginx:1.27': 'docker-hub',
  'bitnami/redis:7.2': 'docker-hub',
  'acme/api:2.1': 'quay-cr',
  'acme/migrate:v3': 'github-cr',
  'acme-prod/billing:5.0': 'gcr',
  'team/payments:1.4.2': 'ecr',
  'library/busybox:1.36': 'docker-hub',
}

/** Images that are reported as skipped, with the reason's gist. */
export const expectedSkips: Record<string, RegExp> = {
  'registry.internal:5000/tools/debug:3': /no Snyk integration for registry registry\.internal:5000/,
  [`docker.io/library/alpine@${digestOf('alpine-pinned')}`]: /referenced by digest only/,
}

export async function seedWorkload(set: ClusterSet): Promise<void> {
  const [a, b, c] = set.fixtures
  if (!a || !b || !c) throw new Error('seedWorkload needs three clusters')
  for (const fixture of [a, b, c]) await fixture.createNamespace('shop')
  // The same web tier in every cluster, under different runtimes: one image, submitted once.
  await a.createDeployment('shop', 'web', [{name: 'nginx', image: 'nginx:1.27', digest: digestOf('nginx:1.27')}], 2, 'containerd')
  await b.createDeployment('shop', 'web', [{name: 'nginx', image: 'nginx:1.27', digest: digestOf('nginx:1.27')}], 2, 'docker')
  await c.createDeployment('shop', 'web', [{name: 'nginx', image: 'docker.io/library/nginx:1.27', digest: digestOf('nginx:1.27')}], 1, 'cri-o')
  await a.createSet('StatefulSet', 'shop', 'cache', [{name: 'redis', image: 'bitnami/redis:7.2', digest: digestOf('redis')}])
  await b.createPod({
    namespace: 'shop',
    name: 'api-0',
    runtime: 'cri-o',
    containers: [{name: 'api', image: 'quay.io/acme/api:2.1', digest: digestOf('api')}],
    initContainers: [{name: 'migrate', image: 'ghcr.io/acme/migrate:v3', digest: digestOf('migrate')}],
    ephemeralContainers: [{name: 'debugger', image: 'busybox:1.36', digest: digestOf('busybox')}],
  })
  await c.createCronJob('shop', 'billing', [{name: 'run', image: 'gcr.io/acme-prod/billing:5.0', digest: digestOf('billing')}], 'containerd')
  await c.createPod({namespace: 'shop', name: 'payments', runtime: 'docker-local', containers: [{name: 'p', image: `${ecrHost}/team/payments:1.4.2`, digest: digestOf('payments')}]})
  await a.createPod({namespace: 'shop', name: 'toolbox', containers: [{name: 't', image: 'registry.internal:5000/tools/debug:3', digest: digestOf('debug')}]})
  await b.createPod({namespace: 'shop', name: 'pinned', containers: [{name: 'p', image: `alpine@${digestOf('alpine-pinned')}`, digest: digestOf('alpine-pinned')}]})
}
