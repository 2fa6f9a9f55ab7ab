// `npm run dev:cluster`: two local clusters (real etcd + kube-apiserver each) and the Snyk emulator,
// for trying the plugin by hand. Prints what to export, and stops everything on Ctrl+C.
import path from 'node:path'
import {writeKubeconfig} from './controlplane/kubeconfig.ts'
import {startSnykEmulator} from './emulator/snyk-emulator.ts'
import {startClusters} from './helpers/clusters.ts'

const count = Number(process.env.DEV_CLUSTERS ?? 2)
console.error(`starting ${count} clusters and the Snyk emulator...`)
const set = await startClusters(count, {names: Array.from({length: count}, (_, i) => ['dev-east', 'dev-west', 'dev-north', 'dev-south'][i] ?? `dev-${i}`)})
const snyk = await startSnykEmulator({port: Number(process.env.SNYK_EMULATOR_PORT ?? 0)})
const kubeconfig = await writeKubeconfig(path.join(set.workDir, 'kubeconfig'), set.clusters.map((cluster) => ({cluster})))

for (const cluster of set.clusters) console.error(`  ${cluster.name}: kube-apiserver ${await cluster.version()} at ${cluster.server}`)
console.error(`  snyk emulator: ${snyk.url} (org ${snyk.orgId})`)
console.error('\nexport these in another shell:\n')
const integrations = Object.entries(snyk.integrations()).map(([type, id]) => `${type}=${id}`)
console.log([
  `export KUBECONFIG=${kubeconfig}`,
  `export SNYK_TOKEN=${snyk.token}`,
  `export SNYK_WATCH_API=${snyk.url}`,
  `export SNYK_WATCH_ORG=${snyk.orgId}`,
  `export PATH=${path.join(set.binaries.dir)}:$PATH   # kubectl ${set.binaries.kubernetesVersion}`,
  `# Snyk integrations of the org: ${integrations.join(' ')}`,
].join('\n'))
console.error('\nCtrl+C stops the clusters and the emulator.')

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  console.error('\nstopping...')
  await Promise.all([set.stop(), snyk.close()])
  const violations = snyk.violations
  if (violations.length > 0) console.error(`the emulator saw ${violations.length} off-contract requests or responses`)
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
