{{- define "strata.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "strata.componentName" -}}
{{- printf "%s-%s" (include "strata.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "strata.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: strata
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: strata
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "strata.selectorLabels" -}}
app.kubernetes.io/name: strata
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "strata.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Connection settings from the Secret: references only, never values. */}}
{{- define "strata.connectionEnv" -}}
{{- include "strata.connectionEnvFrom" (dict "root" . "secret" .Values.connection.existingSecret) }}
{{- end -}}

{{/* The connection variables from a given Secret with connection.keys' keys: a component's own (gateway.connectionSecret, proxy.connectionSecret) for its own database roles (docs/security.md). */}}
{{- define "strata.connectionEnvFrom" -}}
{{- $k := .root.Values.connection.keys -}}
{{- $name := .secret | quote -}}
- name: STRATA_PG_URL
  valueFrom: { secretKeyRef: { name: {{ $name }}, key: {{ $k.pgUrl | quote }} } }
- name: STRATA_CLICKHOUSE_URL
  valueFrom: { secretKeyRef: { name: {{ $name }}, key: {{ $k.clickhouseUrl | quote }}, optional: true } }
- name: STRATA_CLICKHOUSE_USER
  valueFrom: { secretKeyRef: { name: {{ $name }}, key: {{ $k.clickhouseUser | quote }}, optional: true } }
- name: STRATA_CLICKHOUSE_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ $name }}, key: {{ $k.clickhousePassword | quote }}, optional: true } }
- name: STRATA_CLICKHOUSE_DATABASE
  valueFrom: { secretKeyRef: { name: {{ $name }}, key: {{ $k.clickhouseDatabase | quote }}, optional: true } }
{{- end -}}

{{/* STRATA_GATEWAY_BUFFER* for the gateway and the writers (gateway.buffer.mode nats). */}}
{{- define "strata.bufferEnv" -}}
{{- $b := .root.Values.gateway.buffer -}}
{{- if $b.natsUrlSecret }}
- name: STRATA_GATEWAY_BUFFER
  valueFrom: { secretKeyRef: { name: {{ $b.natsUrlSecret | quote }}, key: url } }
{{- else }}
- { name: STRATA_GATEWAY_BUFFER, value: {{ required "gateway.buffer.natsUrl (or natsUrlSecret) is required with gateway.buffer.mode nats" $b.natsUrl | quote }} }
{{- end }}
- { name: STRATA_GATEWAY_BUFFER_STREAM, value: {{ $b.stream | quote }} }
- { name: STRATA_GATEWAY_BUFFER_REPLICAS, value: {{ $b.replicas | quote }} }
- { name: STRATA_GATEWAY_BUFFER_MAX_BYTES, value: {{ $b.maxBytes | int64 | quote }} }
- { name: STRATA_GATEWAY_BUFFER_MAX_AGE_SECONDS, value: {{ $b.maxAgeSeconds | int64 | quote }} }
- { name: STRATA_GATEWAY_BUFFER_WRITERS, value: {{ ternary "1" "0" .writers | quote }} }
{{- end -}}

{{- define "strata.podDefaults" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{ toYaml . | nindent 2 }}
{{- end }}
securityContext: {{ toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* Where the gateway keeps TieredTables: its own setting, else the namespace the operator watches, else the release's. */}}
{{- define "strata.gatewayTieredTablesNamespace" -}}
{{- .Values.gateway.tieredTables.namespace | default .Values.operator.watchNamespace | default .Release.Namespace -}}
{{- end -}}

{{/* The PostgreSQL CA (connection.postgresCASecret, key ca.crt) for sslrootcert in pgUrl: mount, then volume. */}}
{{- define "strata.postgresCAMount" -}}
{{- if .Values.connection.postgresCASecret -}}
- { name: postgres-ca, mountPath: /etc/strata/postgres-ca, readOnly: true }
{{- end -}}
{{- end -}}

{{- define "strata.postgresCAVolume" -}}
{{- if .Values.connection.postgresCASecret -}}
- name: postgres-ca
  secret: { secretName: {{ .Values.connection.postgresCASecret | quote }}, items: [{ key: ca.crt, path: ca.crt }] }
{{- end -}}
{{- end -}}
