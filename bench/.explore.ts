// temporary exploration harness (not committed): start 3 clusters, seed N, wait for a stop file
import {existsSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {writeKubeconfig} from '../test/controlplane/kubeconfig.ts'
import {startClusters} from '../test/helpers/clusters.ts'
import {FleetSeeder} from './fleet-seeder.ts'
import {planFleet} from './pod-fleet.ts'
const n = Number(process.argv[2] ?? 1000)
const conc = Number(process.argv[3] ?? 16)
const names = ['bench-a', 'bench-b', 'bench-c']
const set = await startClusters(3, {names})
try {
  const kc = await writeKubeconfig('/tmp/explore/kubeconfig.yaml', set.clusters.map((cluster) => ({name: cluster.name, cluster})))
  writeFileSync('/tmp/explore/kubectl', set.binaries.kubectl)
  const seeders = set.clusters.map((c, i) => new FleetSeeder(c, planFleet(names[i]!, i, n), {concurrency: conc}))
  const t = performance.now()
  await Promise.all(seeders.map((s) => s.seedUpTo(n)))
  console.log('seeded', n, ((performance.now() - t) / 1000).toFixed(1), 's', kc)
  writeFileSync('/tmp/explore/ready', String(n))
  while (!existsSync('/tmp/explore/stop')) await new Promise((r) => setTimeout(r, 500))
} finally {
  await set.stop()
  console.log('stopped', path.basename(set.workDir))
}
