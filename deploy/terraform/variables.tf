variable "project_id" {
  description = "Google Cloud project that hosts the GKE clusters and the VPC peered with Redis Cloud."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name (subscription, database, network, clusters)."
  type        = string
  default     = "bookgraph"
}

# One entry per region. Adding a region is adding an entry here (docs/OPERATIONS.md, "Add a region").
# Redis Cloud Active-Active allows at most 10 regions per subscription.
variable "regions" {
  description = "Regions bookgraph runs in: Redis Cloud Active-Active instance + GKE cluster per entry."
  type = map(object({
    # /24 for the Redis Cloud deployment in this region; must not overlap any other range here.
    redis_cidr = string
    # Provisioned Redis throughput of this region's instance (ops/s). Each region's writes are
    # replicated to every other region, so each instance also absorbs the others' write rate.
    write_ops_per_second = number
    read_ops_per_second  = number
    # GKE networking (VPC-native): node subnet, pod and service secondary ranges, control plane /28.
    subnet_cidr   = string
    pods_cidr     = string
    services_cidr = string
    master_cidr   = string
    # Node pool (one per region, autoscaled, spread over the region's zones).
    machine_type   = optional(string, "n2-standard-4")
    min_node_count = optional(number, 1)
    max_node_count = optional(number, 5)
  }))

  default = {
    # Case study (Flowdesk): ~50k ops/s in north-east Asia, ~10k in the US; Europe in between.
    "asia-northeast1" = {
      redis_cidr           = "10.100.0.0/24"
      write_ops_per_second = 50000
      read_ops_per_second  = 50000
      subnet_cidr          = "10.10.0.0/20"
      pods_cidr            = "10.11.0.0/16"
      services_cidr        = "10.12.0.0/20"
      master_cidr          = "172.16.0.0/28"
      max_node_count       = 8
    }
    "europe-west1" = {
      redis_cidr           = "10.100.1.0/24"
      write_ops_per_second = 30000
      read_ops_per_second  = 30000
      subnet_cidr          = "10.20.0.0/20"
      pods_cidr            = "10.21.0.0/16"
      services_cidr        = "10.22.0.0/20"
      master_cidr          = "172.16.0.16/28"
    }
    "us-west1" = {
      redis_cidr           = "10.100.2.0/24"
      write_ops_per_second = 10000
      read_ops_per_second  = 10000
      subnet_cidr          = "10.30.0.0/20"
      pods_cidr            = "10.31.0.0/16"
      services_cidr        = "10.32.0.0/20"
      master_cidr          = "172.16.0.32/28"
    }
  }

  validation {
    condition     = length(var.regions) >= 1 && length(var.regions) <= 10
    error_message = "Redis Cloud Active-Active supports 1 to 10 regions."
  }
  validation {
    condition     = alltrue([for r in values(var.regions) : endswith(r.redis_cidr, "/24")])
    error_message = "Each redis_cidr must be a /24 (Redis Cloud networking_deployment_cidr)."
  }
}

variable "redis_password" {
  description = "Password of the database's default user in every region (REDIS_URL is built from it)."
  type        = string
  sensitive   = true
}

variable "dataset_size_in_gb" {
  description = "Dataset size of the database (per region copy). Books are small; sessions grow with clients."
  type        = number
  default     = 5
}

variable "data_persistence" {
  description = "Persistence of every regional copy: a restarted instance reloads books instead of starting empty."
  type        = string
  default     = "aof-every-1-second"
}

variable "payment_method" {
  description = "\"credit-card\" (needs payment_method_id) or \"marketplace\" (Google Cloud Marketplace billing)."
  type        = string
  default     = "marketplace"
}

variable "payment_method_id" {
  description = "Redis Cloud payment method id when payment_method is credit-card."
  type        = string
  default     = null
}

variable "gke_release_channel" {
  description = "GKE release channel of every cluster."
  type        = string
  default     = "REGULAR"
}

variable "master_authorized_cidrs" {
  description = "CIDRs allowed to reach the GKE control planes (CI runners, operators' VPN)."
  type        = map(string)
  default     = {}
}
