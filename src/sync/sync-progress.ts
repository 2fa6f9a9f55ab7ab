// What the sync pipeline tells whoever shows its progress: src/render/sync-progress.ts draws it (listr2 on a
// terminal, lines elsewhere, nothing under --json); tests record it.

export interface SubmissionSnapshot {
  done: number
  total: number
  inFlight: number
  retries: number
  failed: number
  /** Epoch ms until which Snyk asked us to pause (429), if paused now. */
  pausedUntil?: number
  etaMs?: number
}

export interface SyncProgress {
  targetsStarted(targets: Array<{id: string; name: string}>): void
  targetListing(id: string, pods: number): void
  targetDone(id: string, outcome: {pods: number; images: number} | {error: string}): void
  submissionsStarted(total: number): void
  submissionUpdate(snapshot: SubmissionSnapshot): void
  submissionsDone(snapshot: SubmissionSnapshot): void
  /** Waits until the display has finished drawing. */
  close(): Promise<void>
}
