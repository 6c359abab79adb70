{{/* Names and labels shared by the templates. */}}
{{- define "guts.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "guts.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The config file of a node (docs/configuration.md); the data directory is the volume. */}}
{{- define "guts.config" -}}
data-dir = "/var/lib/guts/data"
genesis-file = "/etc/guts/genesis/genesis.json"
api-addr = "0.0.0.0:{{ .Values.ports.api }}"
p2p-addr = "0.0.0.0:{{ .Values.ports.p2p }}"
log-level = {{ .Values.logLevel | quote }}
{{ .Values.extraConfig }}
{{- end -}}

{{/* Pod security shared by every node: non-root, read-only root file system. */}}
{{- define "guts.podSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  fsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "guts.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end -}}
