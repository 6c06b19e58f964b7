# Redis Cloud Active-Active: one subscription on Google Cloud, one database with a copy in every
# region of var.regions. Each region's servers and ingesters use their local copy over VPC peering.

locals {
  # Where bookgraph pods connect from (VPC-native GKE keeps pod IPs across the peering).
  client_cidrs = sort(flatten([for r in values(var.regions) : [r.subnet_cidr, r.pods_cidr]]))
}

resource "rediscloud_active_active_subscription" "bookgraph" {
  name              = var.name
  cloud_provider    = "GCP"
  payment_method    = var.payment_method
  payment_method_id = var.payment_method_id

  # Only read when the subscription is created; later region changes go through
  # rediscloud_active_active_subscription_regions below.
  creation_plan {
    dataset_size_in_gb = var.dataset_size_in_gb
    quantity           = 1
    dynamic "region" {
      for_each = var.regions
      content {
        region                      = region.key
        networking_deployment_cidr  = region.value.redis_cidr
        write_operations_per_second = region.value.write_ops_per_second
        read_operations_per_second  = region.value.read_ops_per_second
      }
    }
  }
}

resource "rediscloud_active_active_subscription_database" "bookgraph" {
  subscription_id    = rediscloud_active_active_subscription.bookgraph.id
  name               = var.name
  dataset_size_in_gb = var.dataset_size_in_gb

  # bookgraph connects with rediss:// (REDIS_URL); the server trusts Redis' CA via NODE_EXTRA_CA_CERTS.
  enable_tls = true
  # Never evict. Book keys, their meta (epoch, seq) and trading-session keys are the source of
  # truth: an evicted level or meta key would be a silent gap that no sequence check can see, and
  # an evicted session would lose acknowledged orders. With noeviction a full database refuses
  # writes instead; ingesters count that in bookgraph_ingest_write_errors_total and the
  # BookgraphIngestWriteErrors alert fires. (The provider's default is volatile-lru.)
  data_eviction           = "noeviction"
  global_data_persistence = var.data_persistence
  global_password         = var.redis_password
  global_source_ips       = local.client_cidrs
  # One endpoint per region behind Redis Cloud's proxy; bookgraph's hash tags keep each book in one slot.
  support_oss_cluster_api    = false
  global_resp_version        = "resp2"
  global_enable_default_user = true

  global_alert {
    name  = "dataset-size"
    value = 80
  }

  # Per-region settings: an alert when the region nears its provisioned throughput.
  dynamic "override_region" {
    for_each = var.regions
    content {
      name = override_region.key
      override_global_alert {
        name  = "dataset-size"
        value = 80
      }
      override_global_alert {
        name  = "throughput-higher-than"
        value = floor(0.8 * (override_region.value.write_ops_per_second + override_region.value.read_ops_per_second))
      }
    }
  }

  tags = {
    "app" = var.name
  }
}

# The regions of the subscription after creation, with each region's provisioned throughput for
# the database. A new entry in var.regions adds a region here (creation_plan is not re-read).
resource "rediscloud_active_active_subscription_regions" "bookgraph" {
  subscription_id = rediscloud_active_active_subscription.bookgraph.id
  # Removing a region deletes its copy of the data: make that an explicit, reviewed change.
  delete_regions = false

  dynamic "region" {
    for_each = var.regions
    content {
      region                     = region.key
      networking_deployment_cidr = region.value.redis_cidr
      database {
        database_id                       = rediscloud_active_active_subscription_database.bookgraph.db_id
        database_name                     = rediscloud_active_active_subscription_database.bookgraph.name
        local_write_operations_per_second = region.value.write_ops_per_second
        local_read_operations_per_second  = region.value.read_ops_per_second
      }
    }
  }
}

# VPC peering, one per region: Redis Cloud's side ...
resource "rediscloud_active_active_subscription_peering" "bookgraph" {
  for_each = var.regions

  subscription_id  = rediscloud_active_active_subscription.bookgraph.id
  provider_name    = "GCP"
  source_region    = each.key
  gcp_project_id   = var.project_id
  gcp_network_name = google_compute_network.bookgraph.name

  depends_on = [rediscloud_active_active_subscription_regions.bookgraph]
}

# ... and ours (a GCP peering is only active once both sides exist).
resource "google_compute_network_peering" "redis" {
  for_each = var.regions

  name         = "${var.name}-redis-${each.key}"
  network      = google_compute_network.bookgraph.self_link
  peer_network = "https://www.googleapis.com/compute/v1/projects/${rediscloud_active_active_subscription_peering.bookgraph[each.key].gcp_redis_project_id}/global/networks/${rediscloud_active_active_subscription_peering.bookgraph[each.key].gcp_redis_network_name}"
}
