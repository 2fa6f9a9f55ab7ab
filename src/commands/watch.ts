import {setFlagsFromString} from 'node:v8'
import {Flags} from '@oclif/core'
import {SnykWatchCommand} from '../cli/snyk-watch-command.ts'
import {commonFlags, snykFlags, targetFlags} from '../cli/shared-flags.ts'
import {runWatchCommand} from '../watch/watch-runner.ts'
import {defaults, durationText} from '../config/defaults.ts'

export default class Watch extends SnykWatchCommand {
  static override summary = 'Keep every image running in your clusters monitored by Snyk, continuously.'
  static override description = `Lists and then watches the pods of every target (kubeconfig x context, or the pod's own cluster when run in one) and submits each image to Snyk when it starts running, once; again after --resubmit-after, and when its tag moves to a new digest (drift). Pod updates that change no image, and deletions, send nothing.

Runs until SIGINT or SIGTERM: the watches stop, in-flight imports may finish within --shutdown-timeout, and what is still queued is kept in the state store for the next start. A second Ctrl+C exits at once (130), keeping the queue too. SIGHUP re-reads the config file (filters, --rate, --integration) without dropping the queue.

With --listen it serves /healthz, /readyz (ready once every target has been listed) and /metrics (Prometheus); in a pod it listens on :8080 by default. With --leader-elect several replicas share a coordination.k8s.io Lease and only the leader submits.

Logs are JSON lines when stderr is not a terminal (or with --log-format json), one audit line per submission. The token is never logged.

Every flag can also be set with SNYK_WATCH_<FLAG> or in the config file.

Exit codes: 0 stopped by a signal after a clean shutdown; 2 usage, configuration or authentication error; 130 a second interrupt.`

  static override examples = [
    {description: 'Follow the current context from a laptop', command: 'SNYK_TOKEN=... kubectl snyk-watch watch --org 3b1f...'},
    {description: 'Every context of a kubeconfig, skipping system namespaces, with metrics on :9090', command: 'kubectl snyk-watch watch --all-contexts --exclude-namespace "kube-*" --listen :9090'},
    {description: 'In a Deployment with two replicas (service account, lease in the pod namespace)', command: 'kubectl snyk-watch watch --leader-elect --cluster-name prod-eu --namespace-selector snyk-watch.io/monitor=true'},
    {description: 'Reload the config file of a running watch', command: 'kill -HUP <pid>'},
  ]

  static override flags = {
    ...targetFlags,
    'namespace-selector': Flags.string({description: 'Only namespaces whose labels match this selector (team=payments).', helpGroup: 'SCOPE'}),
    ...snykFlags,
    'resubmit-after': Flags.string({description: `Submit a running image again after this long (default ${durationText(defaults.resubmitAfterMs)}).`, helpGroup: 'SUBMISSION'}),
    'retry-after': Flags.string({description: `Try a failed or skipped image again after this long (default ${durationText(defaults.retryAfterMs)}).`, helpGroup: 'SUBMISSION'}),
    'shutdown-timeout': Flags.string({description: `How long in-flight imports may take to finish on SIGTERM (default ${durationText(defaults.shutdownTimeoutMs)}).`}),
    listen: Flags.string({description: 'Serve /healthz, /readyz and /metrics on HOST:PORT or :PORT (default: off; :8080 in a pod).', helpGroup: 'SERVING'}),
    'leader-elect': Flags.boolean({description: 'Run as one of several replicas: only the holder of a Lease submits.', helpGroup: 'SERVING'}),
    'leader-elect-namespace': Flags.string({description: 'Namespace of the Lease (default: the pod namespace, else default).', helpGroup: 'SERVING'}),
    'leader-elect-name': Flags.string({description: 'Name of the Lease (default kubectl-snyk-watch).', helpGroup: 'SERVING'}),
    'leader-elect-lease-duration': Flags.string({description: `How long a leader that stops renewing keeps the lease (default ${durationText(defaults.leaseDurationMs)}).`, helpGroup: 'SERVING'}),
    'log-format': Flags.string({description: 'auto (JSON when stderr is not a terminal), json or text.', options: ['auto', 'json', 'text']}),
    'log-level': Flags.string({description: 'debug, info (default), warn or error.', options: ['debug', 'info', 'warn', 'error']}),
    state: commonFlags.state,
    config: commonFlags.config,
  }

  async run(): Promise<void> {
    // Memory over speed: the process follows every pod of every target for days.
    setFlagsFromString('--optimize-for-size')
    const {flags} = await this.parse(Watch)
    process.exitCode = await runWatchCommand({flags, config: flags.config}, {env: process.env, stderr: process.stderr})
  }
}
