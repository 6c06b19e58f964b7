terraform {
  required_version = ">= 1.5.0"

  required_providers {
    rediscloud = {
      source  = "RedisLabs/rediscloud"
      version = "~> 2.0"
    }
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }

  # State holds the database password: keep it in a bucket with restricted access, e.g.
  # backend "gcs" { bucket = "<project>-tfstate" prefix = "bookgraph" } (terraform init -backend-config=...).
}

# Credentials come from the environment, never from files in this directory:
#   REDISCLOUD_ACCESS_KEY, REDISCLOUD_SECRET_KEY   (Redis Cloud API key pair)
#   GOOGLE_APPLICATION_CREDENTIALS or `gcloud auth application-default login`
provider "rediscloud" {}

provider "google" {
  project = var.project_id
}
