// `npm run controlplane:build`: builds (or finds in the cache) the test bed's control-plane binaries.
import {ensureControlPlaneBinaries} from './binaries.ts'

const started = Date.now()
const binaries = await ensureControlPlaneBinaries((line) => console.error(line))
console.log(`control plane: Kubernetes ${binaries.kubernetesVersion}, etcd ${binaries.etcdVersion} in ${binaries.dir} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
