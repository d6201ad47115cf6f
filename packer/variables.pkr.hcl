# Variables shared by every ryo-jitsi build. Per-OS values live in *.pkrvars.hcl.

variable "os" {
  type        = string
  description = "Target system: debian12, debian13, ubuntu2204 or ubuntu2404 (selects image/os/<os>.env)."
  validation {
    condition     = contains(["debian12", "debian13", "ubuntu2204", "ubuntu2404"], var.os)
    error_message = "The os must be one of debian12, debian13, ubuntu2204, ubuntu2404."
  }
}

variable "agent_deb" {
  type        = string
  default     = "../target/debian/meet-agent.deb"
  description = "The meet-agent package built by packaging/build-deb."
}

variable "jitsi_repository" {
  type        = string
  default     = "on"
  description = "on: install Jitsi's packages from Jitsi's apt repository; off: build without them."
  validation {
    condition     = contains(["on", "off"], var.jitsi_repository)
    error_message = "The jitsi_repository must be on or off."
  }
}

variable "role" {
  type        = string
  default     = "all"
  description = "all: the appliance (every role but recording); recorder: adds jibri's runtime and the generic kernel with snd-aloop (Debian targets only; docs/recording.md)."
  validation {
    condition     = contains(["all", "recorder"], var.role)
    error_message = "The role must be all or recorder."
  }
}

variable "jitsi_version" {
  type        = string
  default     = ""
  description = "Pin the jitsi-meet package version (for example 2.0.10008-1); empty for the newest."
}

variable "apt_update" {
  type        = string
  default     = "on"
  description = "off only for bases whose package lists are current (the offline qemu build)."
}

# --- amazon-ebs ---------------------------------------------------------------------------

variable "region" {
  type        = string
  default     = "eu-central-1"
  description = "AWS region to build the AMI in."
}

variable "instance_type" {
  type        = string
  default     = "t3.medium"
  description = "Instance type of the build instance."
}

variable "volume_size_gb" {
  type        = number
  default     = 12
  description = "Root volume size of the AMI in GiB."
  validation {
    condition     = var.volume_size_gb >= 8 && var.volume_size_gb <= 1024
    error_message = "The volume_size_gb must be between 8 and 1024."
  }
}

variable "encrypt_boot" {
  type        = bool
  default     = true
  description = "Encrypt the AMI's root volume (with kms_key_id, or the account's default EBS key)."
}

variable "kms_key_id" {
  type        = string
  default     = ""
  description = "KMS key for the encrypted volume; empty for the account default."
}

variable "ami_name_prefix" {
  type        = string
  default     = "ryo-jitsi"
  description = "AMI names are <prefix>-<os>-<timestamp>."
  validation {
    condition     = length(var.ami_name_prefix) >= 3 && length(var.ami_name_prefix) <= 100 && length(split(" ", var.ami_name_prefix)) == 1
    error_message = "The ami_name_prefix must be 3 to 100 characters without spaces."
  }
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Extra tags for the AMI and its snapshot."
}

variable "source_ami_name" {
  type        = string
  description = "Name filter of the official source AMI (set per OS in *.pkrvars.hcl)."
}

variable "source_ami_owner" {
  type        = string
  description = "Owner account of the official source AMI (set per OS in *.pkrvars.hcl)."
}

variable "root_device_name" {
  type        = string
  description = "Root device of the source AMI (/dev/xvda on Debian, /dev/sda1 on Ubuntu)."
}

variable "ssh_username" {
  type        = string
  description = "Login user of the source image (admin on Debian, ubuntu on Ubuntu)."
}

# --- lxd ----------------------------------------------------------------------------------

variable "lxd_source_image" {
  type        = string
  default     = "images:debian/12/cloud"
  description = "LXD image to start from (a remote:alias, or a local alias)."
}

# --- qemu ---------------------------------------------------------------------------------

variable "qemu_base_image" {
  type        = string
  default     = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2"
  description = "Base disk image (local path or URL) the qemu build starts from."
}

variable "qemu_base_checksum" {
  type        = string
  default     = "file:https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS"
  description = "Checksum of qemu_base_image (type:value, file:URL, or none for a local file you trust)."
}

variable "qemu_accelerator" {
  type        = string
  default     = "kvm"
  description = "kvm where the CPU offers it, else tcg."
  validation {
    condition     = contains(["kvm", "tcg"], var.qemu_accelerator)
    error_message = "The qemu_accelerator must be kvm or tcg."
  }
}

variable "qemu_ssh_username" {
  type        = string
  default     = "root"
  description = "User Packer logs in as on the qemu base image."
}

variable "qemu_ssh_private_key_file" {
  type        = string
  default     = ""
  description = "Private key authorized on the qemu base image."
}

variable "qemu_args" {
  type        = list(list(string))
  default     = []
  description = "Extra QEMU arguments, for example direct kernel boot of the offline base."
}

variable "qemu_compact" {
  type        = bool
  default     = true
  description = "Compact and compress the finished qcow2 (qemu-img convert -c). The offline test build turns it off: the image is booted once and thrown away, and the conversion costs a core for half a minute under emulation."
}

variable "output_directory" {
  type        = string
  default     = "../build/packer-qemu"
  description = "Where the qemu build writes ryo-jitsi.qcow2."
}
