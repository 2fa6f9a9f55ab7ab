// Library entry point: the pipeline's public pieces are exported from here as they land.
export const packageName = 'kubectl-snyk-watch'
