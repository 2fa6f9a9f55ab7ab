// What `watch` reports through: the logger (pino implements it) and the metrics (src/observe/metrics.ts).

/** The logger calls the service makes (pino's signature). */
export interface WatchLogger {
  debug(fields: object, message: string): void
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
  error(fields: object, message: string): void
}

/** What the service reports to the metrics (src/observe/metrics.ts implements it). */
export interface WatchMetricsSink {
  imageDiscovered(): void
  submission(result: 'submitted' | 'monitored' | 'failed' | 'skipped'): void
  setQueueDepth(depth: number): void
  setInFlight(count: number): void
  watchRestarted(target: string): void
  targetSynced(target: string, synced: boolean): void
  setRunningContainers(counts: Map<string, number>): void
}
