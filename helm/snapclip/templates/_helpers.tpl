{{/* Names, labels and shared snippets. */}}

{{- define "snapclip.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "snapclip.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<component>, e.g. snapclip-triton. */}}
{{- define "snapclip.componentName" -}}
{{- printf "%s-%s" (include "snapclip.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "snapclip.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "snapclip.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: snapclip
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: {{ include "snapclip.selectorLabels" (dict "root" $ "component" "triton") }} */}}
{{- define "snapclip.selectorLabels" -}}
app.kubernetes.io/name: {{ include "snapclip.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "snapclip.componentLabels" -}}
{{ include "snapclip.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "snapclip.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "snapclip.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Triton gRPC address the orchestrator uses. */}}
{{- define "snapclip.tritonUrl" -}}
{{- if .Values.orchestrator.tritonUrl -}}
{{- .Values.orchestrator.tritonUrl -}}
{{- else -}}
{{- printf "%s:%d" (include "snapclip.componentName" (dict "root" . "component" "triton")) (int .Values.triton.ports.grpc) -}}
{{- end -}}
{{- end -}}

{{/* Secret and key holding the job store URL. */}}
{{- define "snapclip.databaseSecret" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecret -}}
{{- else -}}
{{- include "snapclip.componentName" (dict "root" . "component" "database") -}}
{{- end -}}
{{- end -}}

{{- define "snapclip.apiTokenSecret" -}}
{{- if .Values.orchestrator.apiToken.existingSecret -}}
{{- .Values.orchestrator.apiToken.existingSecret -}}
{{- else -}}
{{- include "snapclip.componentName" (dict "root" . "component" "api-token") -}}
{{- end -}}
{{- end -}}

{{/* A non-root container that can write nothing but its volumes. */}}
{{- define "snapclip.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "snapclip.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Environment of the steps that fetch weights: Hugging Face's cache on the model volume and the
optional token for gated models. Usage: include "snapclip.fetchEnv" (dict "repo" $repo)
*/}}
{{- define "snapclip.fetchEnv" -}}
env:
  - name: HOME
    value: /tmp
  - name: HF_HOME
    value: /models/.cache/huggingface
  {{- if .repo.fetch.hfTokenSecret }}
  - name: HF_TOKEN
    valueFrom:
      secretKeyRef:
        name: {{ .repo.fetch.hfTokenSecret }}
        key: HF_TOKEN
  {{- end }}
{{- end }}
