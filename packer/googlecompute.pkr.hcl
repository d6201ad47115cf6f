# Google Compute Engine: an image built from Debian's or Canonical's public image family,
# in image family <gce_image_family_prefix>-<os>. Instances created from it read their
# configuration from the instance attribute meet-agent-config (see docs/gce.md).
# `packer validate` checks this source offline and without credentials (Application Default
# Credentials, or gce_account_file, are read only by `packer build`).

locals {
  # Public image family and project per OS, unless gce_source_image_family is set.
  gce_source = {
    debian12   = { family = "debian-12", project = "debian-cloud" }
    debian13   = { family = "debian-13", project = "debian-cloud" }
    ubuntu2204 = { family = "ubuntu-2204-lts", project = "ubuntu-os-cloud" }
    ubuntu2404 = { family = "ubuntu-2404-lts-amd64", project = "ubuntu-os-cloud" }
  }
}

source "googlecompute" "ryo" {
  project_id              = var.gce_project_id
  zone                    = var.gce_zone
  account_file            = var.gce_account_file
  source_image_family     = var.gce_source_image_family != "" ? var.gce_source_image_family : local.gce_source[var.os].family
  source_image_project_id = [var.gce_source_image_project != "" ? var.gce_source_image_project : local.gce_source[var.os].project]
  machine_type            = var.gce_machine_type
  disk_size               = var.gce_disk_size_gb
  disk_type               = "pd-balanced"
  image_name              = "${var.gce_image_family_prefix}-${local.variant}-${local.timestamp}"
  image_family            = "${var.gce_image_family_prefix}-${local.variant}"
  image_description       = "ryo-jitsi (${local.variant}), a self-hosted Jitsi Meet server"
  image_labels = {
    os      = var.os
    role    = var.role
    project = "ryo-jitsi"
  }
  ssh_username = "packer"
  # Packer's own temporary key only; the project's SSH keys stay off the build instance.
  metadata = {
    block-project-ssh-keys = "true"
  }
  enable_secure_boot          = true
  enable_vtpm                 = true
  enable_integrity_monitoring = true
}

variable "gce_project_id" {
  type        = string
  default     = "ryo-jitsi-build"
  description = "Google Cloud project to build the image in (and that owns it)."
}

variable "gce_zone" {
  type        = string
  default     = "europe-west3-a"
  description = "Zone of the build instance."
}

variable "gce_account_file" {
  type        = string
  default     = ""
  description = "Service account key file; empty for Application Default Credentials (gcloud auth application-default login)."
}

variable "gce_source_image_family" {
  type        = string
  default     = ""
  description = "Public image family to start from; empty for the os's (debian-12, ubuntu-2204-lts, ubuntu-2404-lts-amd64)."
}

variable "gce_source_image_project" {
  type        = string
  default     = ""
  description = "Project of gce_source_image_family; empty for the os's (debian-cloud, ubuntu-os-cloud)."
}

variable "gce_machine_type" {
  type        = string
  default     = "e2-standard-2"
  description = "Machine type of the build instance."
}

variable "gce_disk_size_gb" {
  type        = number
  default     = 12
  description = "Boot disk size of the image in GB."
  validation {
    condition     = var.gce_disk_size_gb >= 10 && var.gce_disk_size_gb <= 1024
    error_message = "The gce_disk_size_gb must be between 10 and 1024."
  }
}

variable "gce_image_family_prefix" {
  type        = string
  default     = "ryo-jitsi"
  description = "Images are named <prefix>-<os>[-recorder]-<timestamp> in image family <prefix>-<os>[-recorder]."
  validation {
    condition     = regex_replace(var.gce_image_family_prefix, "^[a-z][-a-z0-9]{1,40}[a-z0-9]$", "") == ""
    error_message = "The gce_image_family_prefix must be 3 to 42 lower-case letters, digits and hyphens, starting with a letter."
  }
}
