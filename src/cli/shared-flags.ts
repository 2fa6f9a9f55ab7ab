// Flags shared by the commands, named as kubectl names them. Every flag is also read from
// SNYK_WATCH_<FLAG> and from the config file (see src/config/option-sources.ts); so none has an
// oclif default here: "not given" must stay distinguishable.
import {Flags} from '@oclif/core'
import {defaults, DEFAULT_SNYK_API, durationText} from '../config/defaults.ts'

export const targetFlags = {
  kubeconfig: Flags.string({description: 'Path to a kubeconfig file; repeat for several (each file is its own set of targets). Default: $KUBECONFIG merged as kubectl merges it, else ~/.kube/config, else the pod service account.', multiple: true, helpGroup: 'TARGETS'}),
  context: Flags.string({description: 'Context to use; repeat for several. Default: the current context of each kubeconfig.', multiple: true, helpGroup: 'TARGETS'}),
  'all-contexts': Flags.boolean({description: 'Use every context of every kubeconfig.', helpGroup: 'TARGETS'}),
  'cluster-name': Flags.string({description: 'Name of the (one) selected cluster in the store and reports (default: the context name; "in-cluster" in a pod). Needed in a pod on a shared PostgreSQL store.', helpGroup: 'TARGETS'}),
  namespace: Flags.string({char: 'n', description: 'Namespace to list; repeat for several. Default: all namespaces.', multiple: true, helpGroup: 'SCOPE'}),
  'all-namespaces': Flags.boolean({char: 'A', description: 'List pods in all namespaces (the default).', helpGroup: 'SCOPE'}),
  'exclude-namespace': Flags.string({description: 'Namespace glob to leave out (kube-*); repeatable.', multiple: true, helpGroup: 'SCOPE'}),
  selector: Flags.string({char: 'l', description: 'Label selector for pods (app=web,tier!=debug).', helpGroup: 'SCOPE'}),
  'skip-job-pods': Flags.boolean({description: 'Leave out pods owned by Jobs and CronJobs.', helpGroup: 'SCOPE'}),
  'forget-after': Flags.string({description: `Forget where images ran when not seen for this long: pods long gone, clusters no longer synced (default ${durationText(defaults.forgetAfterMs)}; at least 1h).`, helpGroup: 'SCOPE'}),
}

export const snykFlags = {
  org: Flags.string({description: 'Snyk organization id.', helpGroup: 'SNYK'}),
  'token-file': Flags.string({description: 'File holding the Snyk API token. Default: $SNYK_TOKEN.', helpGroup: 'SNYK'}),
  api: Flags.string({description: `Snyk API base URL (regional: https://api.eu.snyk.io, https://api.us.snyk.io, https://api.au.snyk.io). Default: ${DEFAULT_SNYK_API}.`, helpGroup: 'SNYK'}),
  integration: Flags.string({description: 'Registry host (glob) to Snyk integration: HOST=TYPE:ID or HOST=ID; repeatable. Default: discovered from the org.', multiple: true, helpGroup: 'SNYK'}),
  concurrency: Flags.string({description: `Snyk requests in flight at once (default ${defaults.concurrency}).`, helpGroup: 'SUBMISSION'}),
  rate: Flags.string({description: `Snyk requests per minute for this token (default ${defaults.ratePerMinute}).`, helpGroup: 'SUBMISSION'}),
  'max-retries': Flags.string({description: `Retries of a failing Snyk request (default ${defaults.maxRetries}).`, helpGroup: 'SUBMISSION'}),
}

export const commonFlags = {
  state: Flags.string({description: 'State store: a file (default: $XDG_STATE_HOME/kubectl-snyk-watch/state.db), or a PostgreSQL URL (postgres://user@host:5432/db) shared by a fleet.'}),
  config: Flags.string({description: 'YAML config file with flag names as keys. Default: $SNYK_WATCH_CONFIG, else ~/.config/kubectl-snyk-watch/config.yaml if present.'}),
  output: Flags.string({char: 'o', description: 'Output format.', options: ['table', 'json']}),
}
