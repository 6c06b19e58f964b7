#!/usr/bin/env bash
# Creates or updates the Secret `bookgraph-redis` (namespace bookgraph) in each region's GKE
# cluster from the Terraform outputs, so deploy/k8s/overlays/<region> can be applied:
#   REDIS_URL  rediss://default:<password>@<the region's private endpoint>
#   ca.pem     Redis Cloud's CA bundle (download it from the Redis Cloud console, "Security" ->
#              "Transport Layer Security"), trusted by Node through NODE_EXTRA_CA_CERTS
#
# The secret never touches the disk or git: it goes from `terraform output` to `kubectl apply`
# through a pipe. Run from anywhere after `terraform apply` and
# `gcloud container clusters get-credentials` for each region's cluster.
#
# usage: render-overlay-secrets.sh --ca-file redis_ca.pem [--dry-run] [region ...]
#        (no region: every region in the Terraform outputs)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
namespace=bookgraph
ca_file=""
dry_run=false
regions=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --ca-file) ca_file="$2"; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) regions+=("$1"); shift ;;
  esac
done

for tool in terraform kubectl jq; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
[[ -n "$ca_file" && -r "$ca_file" ]] || { echo "--ca-file <Redis Cloud CA bundle> is required" >&2; exit 2; }

tf_output() { terraform -chdir="$here" output -json "$1"; }

if [[ ${#regions[@]} -eq 0 ]]; then
  mapfile -t regions < <(tf_output regions | jq -r '.[]')
fi
urls="$(tf_output redis_urls)"
contexts="$(tf_output kube_contexts)"

for region in "${regions[@]}"; do
  url="$(jq -r --arg r "$region" '.[$r] // empty' <<<"$urls")"
  context="$(jq -r --arg r "$region" '.[$r] // empty' <<<"$contexts")"
  [[ -n "$url" && -n "$context" ]] || { echo "$region: not in the Terraform outputs" >&2; exit 1; }
  echo "$region: Secret $namespace/bookgraph-redis in context $context"
  if $dry_run; then continue; fi
  kubectl --context "$context" create namespace "$namespace" --dry-run=client -o yaml \
    | kubectl --context "$context" apply -f -
  kubectl --context "$context" -n "$namespace" create secret generic bookgraph-redis \
    --from-literal=REDIS_URL="$url" --from-file=ca.pem="$ca_file" \
    --dry-run=client -o yaml \
    | kubectl --context "$context" apply -f -
done
