# Where a build starts: an official AMI, an LXD image, or a local or downloaded disk.

locals {
  timestamp = formatdate("YYYYMMDDhhmmss", timestamp())
  # The recorder image's names end in -recorder; the appliance's keep their old names.
  variant = var.role == "all" ? var.os : "${var.os}-${var.role}"
  image_tags = merge({
    Name    = "${var.ami_name_prefix}-${local.variant}"
    os      = var.os
    role    = var.role
    project = "ryo-jitsi"
  }, var.tags)
}

source "amazon-ebs" "ryo" {
  region        = var.region
  instance_type = var.instance_type
  ami_name      = "${var.ami_name_prefix}-${local.variant}-${local.timestamp}"
  source_ami_filter {
    filters = {
      name                = var.source_ami_name
      architecture        = "x86_64"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = [var.source_ami_owner]
    most_recent = true
  }
  ssh_username = var.ssh_username
  # IMDSv2 on the build instance and on the AMI is set through the AWS CLI in build.pkr.hcl:
  # Debian's packer 1.6.6 knows neither metadata_options nor imds_support.
  launch_block_device_mappings {
    device_name           = var.root_device_name
    volume_size           = var.volume_size_gb
    volume_type           = "gp3"
    iops                  = 3000
    throughput            = 125
    delete_on_termination = true
  }
  encrypt_boot  = var.encrypt_boot
  kms_key_id    = var.kms_key_id
  tags          = local.image_tags
  snapshot_tags = local.image_tags
}

source "lxd" "ryo" {
  image        = var.lxd_source_image
  output_image = "ryo-jitsi"
  publish_properties = {
    description = "ryo-jitsi (${var.os})"
  }
}

source "qemu" "ryo" {
  iso_url              = var.qemu_base_image
  iso_checksum         = var.qemu_base_checksum
  disk_image           = true
  format               = "qcow2"
  disk_compression     = var.qemu_compact
  skip_compaction      = ! var.qemu_compact
  accelerator          = var.qemu_accelerator
  output_directory     = var.output_directory
  vm_name              = "ryo-jitsi.qcow2"
  headless             = true
  memory               = 1536
  cpus                 = 2
  disk_interface       = "virtio"
  net_device           = "virtio-net"
  ssh_username         = var.qemu_ssh_username
  ssh_private_key_file = var.qemu_ssh_private_key_file
  ssh_timeout          = "10m"
  shutdown_command     = "systemctl poweroff"
  qemuargs             = var.qemu_args
}
