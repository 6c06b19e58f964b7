# One global VPC; one subnet, Cloud Router + NAT and one load-balancer address per region.

resource "google_compute_network" "bookgraph" {
  name                    = var.name
  auto_create_subnetworks = false
  routing_mode            = "GLOBAL"
}

resource "google_compute_subnetwork" "region" {
  for_each = var.regions

  name                     = "${var.name}-${each.key}"
  region                   = each.key
  network                  = google_compute_network.bookgraph.id
  ip_cidr_range            = each.value.subnet_cidr
  private_ip_google_access = true

  secondary_ip_range {
    range_name    = "pods"
    ip_cidr_range = each.value.pods_cidr
  }
  secondary_ip_range {
    range_name    = "services"
    ip_cidr_range = each.value.services_cidr
  }
}

# Nodes are private: ingesters reach the exchanges' public APIs through Cloud NAT. (Venues that
# allow-list API clients by IP need MANUAL_ONLY with reserved addresses instead of AUTO_ONLY.)
resource "google_compute_router" "region" {
  for_each = var.regions

  name    = "${var.name}-${each.key}"
  region  = each.key
  network = google_compute_network.bookgraph.id
}

resource "google_compute_router_nat" "region" {
  for_each = var.regions

  name                               = "${var.name}-${each.key}"
  region                             = each.key
  router                             = google_compute_router.region[each.key].name
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"
}

# The static IP of each region's Ingress (annotation kubernetes.io/ingress.global-static-ip-name
# in deploy/k8s/overlays/<region>); point the region's DNS name at it.
resource "google_compute_global_address" "ingress" {
  for_each = var.regions

  name = "${var.name}-${each.key}"
}
