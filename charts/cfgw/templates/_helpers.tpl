{{/* SPDX-License-Identifier: Apache-2.0 */}}
{{- define "cfgw.name" -}}{{ .Release.Name }}{{- end -}}
{{- define "cfgw.labels" -}}
app.kubernetes.io/name: cfgw
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
cloudflare-gateway-controller.io/component: controller
{{- end -}}
{{- define "cfgw.selector" -}}
app.kubernetes.io/name: cfgw
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "cfgw.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- define "cfgw.proxyImage" -}}
{{ .Values.proxyImage | default (printf "%s-proxy:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion)) }}
{{- end -}}
{{- define "cfgw.serviceAccount" -}}
{{ .Values.rbac.serviceAccountName | default (include "cfgw.name" .) }}
{{- end -}}
