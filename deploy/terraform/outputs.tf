# Read by render-overlay-secrets.sh, which turns them into the Secret bookgraph-redis of each
# region's cluster (docs/OPERATIONS.md).

output "regions" {
  description = "The regions deployed, in the order of var.regions."
  value       = keys(var.regions)
}

output "regions_env" {
  description = "REGIONS of every bookgraph server and ingester: every region of the Active-Active database (deploy/k8s/base ConfigMap bookgraph-config carries the same list)."
  value       = join(",", keys(var.regions))
}

output "redis_private_endpoints" {
  description = "host:port of each region's local Active-Active copy, reachable over the VPC peering."
  value       = { for r in keys(var.regions) : r => rediscloud_active_active_subscription_database.bookgraph.private_endpoint[r] }
}

output "redis_urls" {
  description = "REDIS_URL for bookgraph in each region (TLS, default user)."
  sensitive   = true
  value = {
    for r in keys(var.regions) :
    r => "rediss://default:${urlencode(var.redis_password)}@${rediscloud_active_active_subscription_database.bookgraph.private_endpoint[r]}"
  }
}

output "kube_contexts" {
  description = "kubectl context of each region's cluster, as `gcloud container clusters get-credentials` names it."
  value       = { for r in keys(var.regions) : r => "gke_${var.project_id}_${r}_${google_container_cluster.region[r].name}" }
}

output "gke_clusters" {
  description = "Name and location of each region's cluster."
  value       = { for r in keys(var.regions) : r => { name = google_container_cluster.region[r].name, location = google_container_cluster.region[r].location } }
}

output "ingress_addresses" {
  description = "Static IP of each region's Ingress: the target of the region's DNS record."
  value       = { for r in keys(var.regions) : r => google_compute_global_address.ingress[r].address }
}

output "peering_status" {
  description = "Redis Cloud side of each region's VPC peering (expect \"active\")."
  value       = { for r in keys(var.regions) : r => rediscloud_active_active_subscription_peering.bookgraph[r].status }
}
