{{/* The chart's name. */}}
{{- define "kubectl-snyk-watch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the release name when it holds the chart's name or is part of it (snyk-watch). */}}
{{- define "kubectl-snyk-watch.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if or (contains $name .Release.Name) (contains .Release.Name $name) }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* watch or sync: the command the chart runs, and the component label. */}}
{{- define "kubectl-snyk-watch.component" -}}
{{- if eq .Values.mode "cronjob" }}sync{{ else }}watch{{ end }}
{{- end }}

{{- define "kubectl-snyk-watch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubectl-snyk-watch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ include "kubectl-snyk-watch.component" . }}
{{- end }}

{{- define "kubectl-snyk-watch.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "kubectl-snyk-watch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "kubectl-snyk-watch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kubectl-snyk-watch.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the token (and maybe the org id). */}}
{{- define "kubectl-snyk-watch.secretName" -}}
{{- if and .Values.snyk.existingSecret .Values.snyk.token }}
{{- fail "set snyk.existingSecret or snyk.token, not both" }}
{{- end }}
{{- default (include "kubectl-snyk-watch.fullname" .) .Values.snyk.existingSecret }}
{{- end }}

{{/* Whether watch runs with --leader-elect: several replicas, or asked for. */}}
{{- define "kubectl-snyk-watch.leaderElect" -}}
{{- if and (eq .Values.mode "watch") (or (gt (int .Values.watch.replicas) 1) .Values.watch.leaderElection.enabled) }}true{{ end }}
{{- end }}

{{- define "kubectl-snyk-watch.leaseName" -}}
{{- default (include "kubectl-snyk-watch.fullname" .) .Values.watch.leaderElection.leaseName }}
{{- end }}

{{- define "kubectl-snyk-watch.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The pod of either mode. Paths: the state store under /var/lib/snyk-watch, the token file under
/var/run/secrets/snyk-watch, the config file under /etc/kubectl-snyk-watch.
*/}}
{{- define "kubectl-snyk-watch.podSpec" -}}
{{- $watch := eq .Values.mode "watch" -}}
{{- if and .Values.postgres.enabled (not .Values.clusterName) }}
{{- fail "postgres.enabled needs clusterName: on a shared database every cluster needs a name of its own" }}
{{- end }}
serviceAccountName: {{ include "kubectl-snyk-watch.serviceAccountName" . }}
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- if not $watch }}
# Required by podFailurePolicy; the failed pod stays, with its exit code.
restartPolicy: Never
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ if $watch }}{{ .Values.watch.terminationGracePeriodSeconds }}{{ else }}30{{ end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .Values.affinity }}
affinity:
  {{- toYaml .Values.affinity | nindent 2 }}
{{- else if and $watch (gt (int .Values.watch.replicas) 1) }}
affinity:
  # The standby on another node than the leader, where there is one.
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "kubectl-snyk-watch.selectorLabels" . | nindent 14 }}
{{- end }}
containers:
  - name: {{ include "kubectl-snyk-watch.component" . }}
    image: {{ include "kubectl-snyk-watch.image" . | quote }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args:
      - {{ include "kubectl-snyk-watch.component" . }}
      {{- if not .Values.postgres.enabled }}
      - --state=/var/lib/snyk-watch/state.db
      {{- end }}
      - --token-file=/var/run/secrets/snyk-watch/token
      {{- if $watch }}
      - --listen=:{{ .Values.watch.metrics.port }}
      {{- if include "kubectl-snyk-watch.leaderElect" . }}
      - --leader-elect
      - --leader-elect-name={{ include "kubectl-snyk-watch.leaseName" . }}
      {{- with .Values.watch.leaderElection.leaseDuration }}
      - --leader-elect-lease-duration={{ . }}
      {{- end }}
      {{- end }}
      - --shutdown-timeout={{ .Values.watch.shutdownTimeout }}
      {{- else }}
      - --timeout={{ .Values.cronjob.timeout }}
      {{- end }}
      {{- with .Values.clusterName }}
      - --cluster-name={{ . }}
      {{- end }}
      {{- range .Values.extraArgs }}
      - {{ . | quote }}
      {{- end }}
    env:
      - name: SNYK_WATCH_ORG
        {{- if .Values.snyk.org }}
        value: {{ .Values.snyk.org | quote }}
        {{- else }}
        valueFrom:
          secretKeyRef:
            name: {{ include "kubectl-snyk-watch.secretName" . }}
            key: {{ .Values.snyk.orgKey }}
            optional: true
        {{- end }}
      {{- if .Values.postgres.enabled }}
      # The shared store's URL from its Secret: in the environment, not in the arguments (the process title).
      - name: SNYK_WATCH_STATE
        valueFrom:
          secretKeyRef:
            name: {{ required "postgres.existingSecret: the Secret holding the database URL" .Values.postgres.existingSecret }}
            key: {{ .Values.postgres.urlKey }}
      {{- end }}
      {{- with .Values.snyk.api }}
      - name: SNYK_WATCH_API
        value: {{ . | quote }}
      {{- end }}
      {{- if .Values.config }}
      - name: SNYK_WATCH_CONFIG
        value: /etc/kubectl-snyk-watch/config.yaml
      {{- end }}
      {{- with .Values.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- if $watch }}
    ports:
      - name: http
        containerPort: {{ .Values.watch.metrics.port }}
    livenessProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 10
    readinessProbe:
      httpGet: {path: /readyz, port: http}
      periodSeconds: 5
    {{- else }}
    # The end of the run's output (its summary) in the pod's status when it fails.
    terminationMessagePolicy: FallbackToLogsOnError
    {{- end }}
    resources:
      {{- toYaml (ternary .Values.watch.resources .Values.cronjob.resources $watch) | nindent 6 }}
    securityContext:
      {{- toYaml .Values.securityContext | nindent 6 }}
    volumeMounts:
      - {name: state, mountPath: /var/lib/snyk-watch}
      - {name: tmp, mountPath: /tmp}
      - {name: snyk-token, mountPath: /var/run/secrets/snyk-watch, readOnly: true}
      {{- if .Values.config }}
      - {name: config, mountPath: /etc/kubectl-snyk-watch, readOnly: true}
      {{- end }}
      {{- with .Values.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  - name: state
    {{- if and (not $watch) .Values.persistence.enabled (not .Values.postgres.enabled) }}
    persistentVolumeClaim:
      claimName: {{ default (printf "%s-state" (include "kubectl-snyk-watch.fullname" .)) .Values.persistence.existingClaim }}
    {{- else if .Values.postgres.enabled }}
    # The state is in the shared database; nothing is written here.
    emptyDir: {sizeLimit: 1Mi}
    {{- else }}
    # watch: each replica keeps its own store (a replica taking over resubmits what its store has not recorded).
    emptyDir: {}
    {{- end }}
  - name: tmp
    emptyDir: {sizeLimit: 64Mi}
  # The token as a file (--token-file), not in the environment: not inherited by child processes, not in
  # /proc/<pid>/environ. Readable through fsGroup only.
  - name: snyk-token
    secret:
      secretName: {{ include "kubectl-snyk-watch.secretName" . }}
      items:
        - {key: {{ .Values.snyk.tokenKey }}, path: token}
      defaultMode: 288  # 0440
  {{- if .Values.config }}
  - name: config
    configMap:
      name: {{ include "kubectl-snyk-watch.fullname" . }}
  {{- end }}
  {{- with .Values.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
