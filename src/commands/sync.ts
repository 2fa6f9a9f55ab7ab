import {setFlagsFromString} from 'node:v8'
import {Flags} from '@oclif/core'
import {SnykWatchCommand} from '../cli/snyk-watch-command.ts'
import {commonFlags, snykFlags, targetFlags} from '../cli/shared-flags.ts'
import {renderSyncSummary} from '../render/sync-summary.ts'
import {resolveSyncOptions} from '../sync/sync-options.ts'
import type {SyncResult} from '../sync/sync-result.ts'
import {runSyncCommand} from '../sync/sync-runner.ts'
import {defaults, durationText} from '../config/defaults.ts'

export default class Sync extends SnykWatchCommand {
  static override summary = 'Submit every image running in your clusters to Snyk, once.'
  static override description = `Lists the pods of every target (kubeconfig x context), extracts each container image with its running digest, and submits each unique image once to Snyk through the org's container registry integration. Images submitted within --resubmit-after are not sent again.

Every flag can also be set with an environment variable SNYK_WATCH_<FLAG> (SNYK_WATCH_ORG, SNYK_WATCH_ALL_CONTEXTS=true, lists comma-separated) or in the config file, so a CronJob needs no arguments. The token comes from SNYK_TOKEN or --token-file and is never printed.

With --fail-on SEVERITY it is a one-step CI gate: it waits for the imports (--wait), reads Snyk's current counts of the images it listed through the same limiter, and exits 1 naming every image with an issue at or above SEVERITY; --fail-on-new judges only images first seen in this run (new to the state store), so old debt does not block. In GitHub Actions (GITHUB_ACTIONS=true) a tripped gate also prints ::error annotations, and the verdict is appended to $GITHUB_STEP_SUMMARY.

Exit codes: 0 success; 1 --fail-on gate tripped (wins over 3); 2 usage, configuration or authentication error; 3 partial failure (some targets or images failed); 130 interrupted.`

  static override examples = [
    {description: 'Submit the images of the current context', command: 'SNYK_TOKEN=... kubectl snyk-watch sync --org 3b1f...'},
    {description: 'Every context of two kubeconfigs, waiting for Snyk to finish importing', command: 'kubectl snyk-watch sync --kubeconfig prod.yaml --kubeconfig staging.yaml --all-contexts --wait'},
    {description: 'What would be submitted, without a token', command: 'kubectl snyk-watch sync --all-contexts --dry-run'},
    {description: 'CI gate in one step: submit, wait, fail on high or critical issues in images new since the last run', command: 'kubectl snyk-watch sync --fail-on high --fail-on-new'},
    {description: 'Skip system namespaces, map a private registry, print JSON', command: 'kubectl snyk-watch sync --exclude-namespace "kube-*" --integration "registry.acme.io=harbor-cr:6f1e..." -o json'},
  ]

  static override enableJsonFlag = true

  static override flags = {
    ...targetFlags,
    ...snykFlags,
    'resubmit-after': Flags.string({description: `Submit an image again after this long (default ${durationText(defaults.resubmitAfterMs)}).`, helpGroup: 'SUBMISSION'}),
    wait: Flags.boolean({description: 'Wait for Snyk to finish each import and record its projects.', helpGroup: 'SUBMISSION'}),
    'wait-timeout': Flags.string({description: `How long --wait waits (default ${durationText(defaults.waitTimeoutMs)}).`, helpGroup: 'SUBMISSION'}),
    timeout: Flags.string({description: 'Stop the whole run after this long (e.g. 15m); what is left is taken by the next run.'}),
    'dry-run': Flags.boolean({description: 'Print the inventory and what would be submitted; needs no token and sends nothing to Snyk.'}),
    'fail-on': Flags.string({description: 'CI gate: wait for the imports, then exit 1 when a listed image has an issue at or above this severity (implies --wait).', options: ['critical', 'high', 'medium', 'low'], helpGroup: 'GATE'}),
    'fail-on-new': Flags.boolean({description: 'With --fail-on: judge only images first seen in this run (new to the state store).', helpGroup: 'GATE'}),
    ...commonFlags,
  }

  async run(): Promise<SyncResult> {
    // Memory over speed: a sync over tens of thousands of pods holds several large JSON pages at once,
    // and V8's defaults let the heap grow far beyond what is live (bench:sync, P4).
    setFlagsFromString('--optimize-for-size')
    const {flags} = await this.parse(Sync)
    const json = this.jsonEnabled() || flags.output === 'json'
    const options = resolveSyncOptions(flags, process.env, flags.config)
    const result = await runSyncCommand(options, {env: process.env, stderr: process.stderr, json})
    if (flags.output === 'json' && !this.jsonEnabled()) this.logJson(result)
    else if (!json) process.stdout.write(renderSyncSummary(result, process.stdout.isTTY ? process.stdout.columns : 160))
    if (result.gate && process.env['GITHUB_ACTIONS'] === 'true') await (await import('../render/github-actions.ts')).reportGateToGitHub(result.gate, 'sync', process.env, process.stderr)
    process.exitCode = result.exitCode
    return result
  }
}
